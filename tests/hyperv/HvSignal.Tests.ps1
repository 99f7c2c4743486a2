<#
.SYNOPSIS
    Pester 5 container of the hvsignal VM harness: one It per scenario.

.DESCRIPTION
    Not run directly: Invoke-HvSignalVmTest.ps1 builds the test context (PowerShell Direct session,
    guest paths, device instance ID, results directory) and passes it with
    New-PesterContainer -Data @{ HarnessContext = ... }. The scenarios themselves live in
    HvSignalVmTest.psm1, so the plain runner (used when Pester 5 is absent) runs exactly the same
    checks.
#>
param(
    [Parameter(Mandatory = $true)] [hashtable] $HarnessContext
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

BeforeDiscovery {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'HvSignalVmTest.psm1')
    $scenarios = Get-HvSignalScenario -ReloadCount $HarnessContext.ReloadCount
}

Describe 'hvsignal in a Hyper-V guest' {
    BeforeAll {
        Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'HvSignalVmTest.psm1')
    }

    It '<Title>' -ForEach $scenarios {
        Invoke-HvSignalScenario -Name $Name -Context $HarnessContext
    }
}
