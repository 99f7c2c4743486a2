<#
.SYNOPSIS
    Runs the Hyper-V VM tests against the staged driver package (cargo make vm-test).

.DESCRIPTION
    `cargo make vm-test -- -VMName <vm> ...` first builds and packages the driver (the package
    task; cargo rebuilds only what changed), then runs this script, which forwards every argument
    to tests\hyperv\Invoke-HvSignalVmTest.ps1. A leading `--` (how cargo-make users separate the
    task's arguments) is dropped.

    The arguments are handed to a new PowerShell process as plain strings so that named arguments
    such as -VMName reach the harness as parameters, exactly as if it had been called directly.
#>

# No [CmdletBinding()] and no param() block: every argument stays in $args unparsed.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$RepoRoot = Split-Path -Parent $PSScriptRoot
$Harness = Join-Path (Join-Path (Join-Path $RepoRoot 'tests') 'hyperv') 'Invoke-HvSignalVmTest.ps1'

if ([System.Environment]::OSVersion.Platform -ne [System.PlatformID]::Win32NT) {
    throw 'The VM tests run on a Windows host with Hyper-V.'
}
if (-not (Test-Path -LiteralPath $Harness -PathType Leaf)) {
    throw "The VM test harness $Harness does not exist."
}

$forwarded = @($args | ForEach-Object { [string] $_ })
if ($forwarded.Count -gt 0 -and $forwarded[0] -eq '--') {
    $forwarded = @($forwarded | Select-Object -Skip 1)
}

# The same PowerShell that runs this script (Windows PowerShell 5.1 or PowerShell 7).
$powershell = (Get-Process -Id $PID).Path
$arguments = @('-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', $Harness) + $forwarded
Write-Host "==> $Harness $($forwarded -join ' ')"
# Windows PowerShell 5.1 turns a native program's stderr into error records when its own output
# is redirected (cargo-make); the harness's exit code decides, so 'Stop' must not end this
# script on the first such line. The harness's output is not redirected, so its prompts and
# progress reach the console unchanged.
$previousPreference = $ErrorActionPreference
$ErrorActionPreference = 'Continue'
try {
    & $powershell @arguments
    $exitCode = $LASTEXITCODE
}
finally {
    $ErrorActionPreference = $previousPreference
}
if ($exitCode -ne 0) {
    throw "The VM tests failed (exit code $exitCode)."
}
