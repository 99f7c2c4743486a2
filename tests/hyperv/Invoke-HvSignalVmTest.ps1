<#
.SYNOPSIS
    Installs the hvsignal driver and console program in a Hyper-V test VM, runs the VM scenarios,
    writes JUnit XML and a summary, removes everything again and restores the VM's checkpoint.

.DESCRIPTION
    Run elevated on the Hyper-V host (Windows PowerShell 5.1 or PowerShell 7), normally through
    `cargo make vm-test -VMName <vm> -Checkpoint <checkpoint>` (see docs/TESTING.md).

    Steps: host pre-flight (elevation, Hyper-V module, package, devgen from the host's WDK, VM exists and is
    Generation 2, checkpoint exists) -> restore the checkpoint -> Secure Boot off -> PowerShell
    Direct session -> guest pre-flight (administrator, x64, build 20348 or later for KMDF 1.33,
    test signing on) -> copy package, console program and devgen with Copy-Item -ToSession ->
    trust the test certificate, create the root device with devgen, install the package with
    pnputil -> optionally Driver Verifier and the KMDF verifier (one reboot) -> scenarios (Pester 5,
    or the plain runner) -> guest logs on failure -> remove device, package, certificate and
    files -> restore the checkpoint unless -KeepVm.

    Exit code: 0 every scenario passed and setup/cleanup succeeded; 1 a scenario failed; 2 the
    harness could not set up, run or clean up (the message says why).

.PARAMETER VMName
    The Hyper-V VM (Generation 2, Windows 11 21H2+ or Windows Server 2022+ guest).
.PARAMETER Checkpoint
    Checkpoint restored before the run and again after it (recommended: taken after preparing
    the VM, see docs/TESTING.md).
.PARAMETER PackagePath
    Driver package directory (default: target\release\hvsignal_package of this repository).
.PARAMETER GuestCredential
    A local administrator of the guest (prompted for when omitted).
.PARAMETER ResultsDirectory
    Where results go (default: target\vm-test-results\<timestamp>).
.PARAMETER KeepVm
    Skip the final checkpoint restore (the driver is still removed).
.PARAMETER Prepare
    Turn Secure Boot off (the VM is shut down for it) and test signing on (one guest reboot)
    when they are not already.
.PARAMETER Verifier
    Run with Driver Verifier (standard settings) on the driver and the KMDF runtime, and the
    KMDF verifier on (one guest reboot).
.PARAMETER DevgenPath
    devgen.exe from this host's Windows Driver Kit (default: WDKToolRoot\x64, else the newest
    Tools\<version>\x64 folder of the WDK - WDKContentRoot, the registered Windows Kits root or
    the default install folder - else PATH). devgen is Microsoft's tool and not redistributable:
    the driver package never contains it; the harness copies it into the guest for the run.
.PARAMETER NoPester
    Use the plain runner even when Pester 5 is installed.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [ValidateNotNullOrEmpty()] [string] $VMName,
    [string] $Checkpoint,
    [string] $PackagePath,
    [System.Management.Automation.PSCredential] $GuestCredential,
    [string] $ResultsDirectory,
    [switch] $KeepVm,
    [switch] $Prepare,
    [switch] $Verifier,
    [string] $DevgenPath,
    [string] $GuestDirectory = 'C:\HvSignalTest',
    [switch] $NoPester,
    [ValidateRange(1, 16777215)] [int] $ScanFrom = 8192,
    [ValidateRange(1, 16777215)] [int] $ScanTo = 12287,
    [ValidateRange(1, 16777215)] [int] $UnknownConnectionId = 16777200,
    [ValidateRange(1, 1000)] [int] $ReloadCount = 20,
    [ValidateRange(1, 10000000)] [int] $BenchCalls = 10000,
    [switch] $StrictConform,
    [ValidateRange(60, 3600)] [int] $BootTimeoutSeconds = 600
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# KMDF 1.33 ships with Windows 11 21H2 (build 22000) and Windows Server 2022 (build 20348).
$minimumGuestBuild = 20348

$repositoryRoot = (Resolve-Path -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath '..\..')).Path
Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'HvSignalVmTest.psm1') -Force
$names = Get-HvSignalNames

if ([string]::IsNullOrEmpty($PackagePath)) {
    $PackagePath = Join-Path -Path $repositoryRoot -ChildPath ('target\release\' + $names.PackageDirectoryName)
}
if ([string]::IsNullOrEmpty($ResultsDirectory)) {
    $ResultsDirectory = Join-Path -Path $repositoryRoot -ChildPath ('target\vm-test-results\' + (Get-Date -Format 'yyyyMMdd-HHmmss'))
}
New-Item -ItemType Directory -Path $ResultsDirectory -Force | Out-Null
$ResultsDirectory = (Resolve-Path -LiteralPath $ResultsDirectory).Path
Set-HvLogPath -Path (Join-Path -Path $ResultsDirectory -ChildPath 'harness.log')
Start-Transcript -Path (Join-Path -Path $ResultsDirectory -ChildPath 'transcript.txt') | Out-Null

function Assert-HvHostElevated {
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object -TypeName System.Security.Principal.WindowsPrincipal -ArgumentList $identity
    if (-not $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)) {
        throw 'Run the harness from an elevated PowerShell (Run as administrator) on the Hyper-V host.'
    }
}

function Import-HvHyperVModule {
    if (@(Get-Module -ListAvailable -Name 'Hyper-V').Count -eq 0) {
        throw ('The Hyper-V PowerShell module is not installed. Enable it with: ' +
            'Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All (client) or ' +
            'Install-WindowsFeature -Name Hyper-V -IncludeManagementTools (server), then restart.')
    }
    Import-Module -Name 'Hyper-V'
}

function Resolve-HvPackage {
    <# The files to copy into the guest, checked against the package layout. #>
    param(
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [hashtable] $Names
    )
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
        throw "Driver package directory '$Path' not found. Build it with 'cargo make package' (or pass -PackagePath)."
    }
    $files = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($name in @($Names.DriverBinary, $Names.DriverInf, $Names.DriverCatalog)) {
        $file = Join-Path -Path $Path -ChildPath $name
        if (-not (Test-Path -LiteralPath $file -PathType Leaf)) {
            throw "The driver package '$Path' has no $name. Rebuild it with 'cargo make package'."
        }
        $files.Add($file)
    }
    $symbols = Join-Path -Path $Path -ChildPath $Names.DriverSymbols
    if (Test-Path -LiteralPath $symbols -PathType Leaf) {
        $files.Add($symbols)
    }
    $certificates = @(Get-ChildItem -LiteralPath $Path -Filter '*.cer' -File)
    if ($certificates.Count -ne 1) {
        throw "The driver package '$Path' must hold exactly one test certificate (.cer); it holds $($certificates.Count)."
    }
    $files.Add($certificates[0].FullName)
    $console = Join-Path -Path $Path -ChildPath $Names.ConsoleProgram
    if (-not (Test-Path -LiteralPath $console -PathType Leaf)) {
        $console = Join-Path -Path (Split-Path -Path $Path -Parent) -ChildPath $Names.ConsoleProgram
    }
    if (-not (Test-Path -LiteralPath $console -PathType Leaf)) {
        throw "$($Names.ConsoleProgram) is neither in '$Path' nor next to it. Build it with 'cargo make package'."
    }
    $files.Add($console)
    return [pscustomobject]@{
        Files           = $files.ToArray()
        CertificateName = $certificates[0].Name
    }
}

function Join-HvHostPath {
    <#
        $Base\$Child with [System.IO.Path]::Combine, or $null when $Base is no usable path, so
        the caller skips that place instead of ending the search. Not Join-Path: it fails when
        the drive does not exist (a stale WDKContentRoot, an unmounted EWDK), and with
        $ErrorActionPreference = 'Stop' that ends the search. Quotes around a value (an easy
        mistake when setting an environment variable) are dropped; a value with other characters
        Windows PowerShell's .NET refuses in a path ('<', '>', '|', control characters) is
        skipped.
    #>
    param(
        [string] $Base,
        [Parameter(Mandatory = $true)] [string] $Child
    )
    if ([string]::IsNullOrEmpty($Base)) {
        return $null
    }
    $trimmed = $Base.Trim().Trim('"')
    if ($trimmed.Length -eq 0 -or $trimmed.IndexOfAny([System.IO.Path]::GetInvalidPathChars()) -ge 0) {
        return $null
    }
    return [System.IO.Path]::Combine($trimmed, $Child)
}

function Get-HvWdkToolsRoot {
    <# The WDK's Tools folders on this host, best first, as tools\package.ps1 finds the WDK. #>
    $candidates = New-Object -TypeName System.Collections.Generic.List[string]
    $candidates.Add((Join-HvHostPath -Base $env:WDKContentRoot -Child 'Tools'))
    foreach ($key in @(
            'HKLM:\SOFTWARE\Microsoft\Windows Kits\Installed Roots',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows Kits\Installed Roots')) {
        $item = Get-ItemProperty -LiteralPath $key -Name 'KitsRoot10' -ErrorAction SilentlyContinue
        if ($null -ne $item) {
            $candidates.Add((Join-HvHostPath -Base $item.KitsRoot10 -Child 'Tools'))
        }
    }
    $candidates.Add((Join-HvHostPath -Base ${env:ProgramFiles(x86)} -Child 'Windows Kits\10\Tools'))
    return @($candidates | Where-Object -FilterScript { -not [string]::IsNullOrEmpty($_) })
}

function Find-HvDevgen {
    <#
        devgen.exe from this host's WDK: -DevgenPath, else WDKToolRoot\x64, else the newest
        Tools\<version>\x64 of the WDK, else PATH. devgen is Microsoft's tool and may not be
        redistributed, so the driver package never holds it; the harness copies it into the
        guest for the run and removes it with the guest directory.
    #>
    param(
        [string] $Path
    )
    if (-not [string]::IsNullOrEmpty($Path)) {
        if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
            throw "devgen.exe not found at '$Path'."
        }
        return (Resolve-Path -LiteralPath $Path).Path
    }
    $searched = New-Object -TypeName System.Collections.Generic.List[string]
    $candidate = Join-HvHostPath -Base $env:WDKToolRoot -Child 'x64\devgen.exe'
    if ($null -ne $candidate) {
        $searched.Add($candidate)
        if (Test-Path -LiteralPath $candidate -PathType Leaf) {
            return $candidate
        }
    }
    foreach ($toolsRoot in @(Get-HvWdkToolsRoot)) {
        # Formatted, not combined: '<' and '>' are not valid in a .NET Framework path.
        $searched.Add(('{0}\<version>\x64\devgen.exe' -f $toolsRoot.TrimEnd('\')))
        if (-not (Test-Path -LiteralPath $toolsRoot -PathType Container)) {
            continue
        }
        $candidates = @(Get-ChildItem -LiteralPath $toolsRoot -Directory -ErrorAction SilentlyContinue |
                Where-Object -FilterScript { $_.Name -match '^\d+(\.\d+){1,3}$' } |
                Sort-Object -Property { [version] $_.Name } -Descending |
                ForEach-Object -Process { [System.IO.Path]::Combine($_.FullName, 'x64\devgen.exe') } |
                Where-Object -FilterScript { Test-Path -LiteralPath $_ -PathType Leaf })
        if ($candidates.Count -gt 0) {
            return $candidates[0]
        }
    }
    $command = Get-Command -Name 'devgen.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -ne $command) {
        return $command.Path
    }
    throw ("devgen.exe was not found. It is part of the Windows Driver Kit (the Windows 11 22H2 WDK " +
        "and later) in Windows Kits\10\Tools\<version>\x64, and is not redistributable, so the driver " +
        "package does not contain it: install the WDK on this host or pass -DevgenPath. Searched: " +
        ($searched -join '; ') + '; PATH.')
}

function Restore-HvCheckpoint {
    <# Turns the VM off (its state is being discarded) and applies the checkpoint. #>
    param(
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string] $CheckpointName
    )
    $vm = Get-VM -Name $Name
    # A checkpoint applies to a VM that is off or saved (the saved state is discarded); a VM
    # restored from a checkpoint of a running VM is left saved, so that is the usual state here.
    # Only a running or paused VM is turned off first.
    if (@('Off', 'Saved', 'FastSaved') -notcontains [string] $vm.State) {
        Stop-VM -Name $Name -TurnOff -Force -Confirm:$false
    }
    Restore-VMSnapshot -VMName $Name -Name $CheckpointName -Confirm:$false
    Write-HvLog -Message "Restored checkpoint '$CheckpointName' of VM '$Name'."
}

$exitCode = 2
$setupErrors = New-Object -TypeName System.Collections.Generic.List[string]
$results = @()
$runner = 'none'
$context = $null
$certificate = $null
$guestDevgen = $null
$verifierEnabled = $false
$runTrace = $null

try {
    # ---- Host pre-flight -------------------------------------------------------------------
    Write-HvLog -Message "hvsignal VM test of '$VMName'; results in $ResultsDirectory"
    Assert-HvHostElevated
    Import-HvHyperVModule
    $package = Resolve-HvPackage -Path $PackagePath -Names $names
    $devgen = Find-HvDevgen -Path $DevgenPath
    Write-HvLog -Message "Package: $PackagePath; devgen: $devgen"

    $vm = Get-VM -Name $VMName -ErrorAction SilentlyContinue
    if ($null -eq $vm) {
        throw "There is no VM named '$VMName' on this host (Get-VM lists the VMs)."
    }
    if ([int] $vm.Generation -ne 2) {
        throw "VM '$VMName' is Generation $($vm.Generation); the harness needs a Generation 2 (UEFI) VM."
    }
    if (-not [string]::IsNullOrEmpty($Checkpoint)) {
        $snapshots = @(Get-VMSnapshot -VMName $VMName -Name $Checkpoint -ErrorAction SilentlyContinue)
        if ($snapshots.Count -ne 1) {
            throw "VM '$VMName' has $($snapshots.Count) checkpoints named '$Checkpoint'; exactly one is needed (Get-VMSnapshot -VMName '$VMName')."
        }
        Restore-HvCheckpoint -Name $VMName -CheckpointName $Checkpoint
    }
    else {
        Write-HvLog -Level Warning -Message 'No -Checkpoint given: the VM is cleaned up after the run but not restored.'
    }

    $firmware = Get-VMFirmware -VMName $VMName
    if ([string] $firmware.SecureBoot -eq 'On') {
        if (-not $Prepare) {
            throw "Secure Boot is on in VM '$VMName'; test-signed drivers cannot load. Run once with -Prepare, or: Set-VMFirmware -VMName '$VMName' -EnableSecureBoot Off (VM off)."
        }
        Write-HvLog -Message 'Turning Secure Boot off (the VM is shut down for it).'
        $state = [string] (Get-VM -Name $VMName).State
        if ($state -eq 'Running') {
            # A clean shutdown through the guest's integration services.
            Stop-VM -Name $VMName -Force -Confirm:$false
        }
        elseif ($state -eq 'Saved' -or $state -eq 'FastSaved') {
            # Saved (e.g. just restored from a checkpoint of a running VM): the saved state is
            # discarded (a checkpoint, if any, is not affected), which leaves the VM off.
            Remove-VMSavedState -VMName $VMName -Confirm:$false
        }
        elseif ($state -ne 'Off') {
            # Paused: the state is discarded (a checkpoint, if any, is not affected).
            Stop-VM -Name $VMName -TurnOff -Force -Confirm:$false
        }
        Set-VMFirmware -VMName $VMName -EnableSecureBoot Off
    }
    if ([string] (Get-VM -Name $VMName).State -ne 'Running') {
        Write-HvLog -Message "Starting VM '$VMName'."
        Start-VM -Name $VMName
    }

    # ---- Guest session, library and pre-flight --------------------------------------------
    if ($null -eq $GuestCredential) {
        $GuestCredential = Get-Credential -Message "A local administrator of the guest in VM '$VMName'"
    }
    $session = Connect-HvGuest -VMName $VMName -Credential $GuestCredential -TimeoutSeconds $BootTimeoutSeconds
    Invoke-Command -Session $session -ArgumentList $GuestDirectory -ScriptBlock {
        param([string] $Path)
        Set-StrictMode -Version Latest
        $ErrorActionPreference = 'Stop'
        if (Test-Path -LiteralPath $Path) {
            Remove-Item -LiteralPath $Path -Recurse -Force
        }
        New-Item -ItemType Directory -Path $Path -Force | Out-Null
    }
    Copy-Item -Path (Join-Path -Path $PSScriptRoot -ChildPath 'HvSignalGuest.ps1') -Destination $GuestDirectory -ToSession $session -Force

    $serviceKey = '{0}\{1}' -f $names.RegistryServicesRoot, $names.ServiceName
    $context = @{
        VMName              = $VMName
        Credential          = $GuestCredential
        Session             = $session
        Names               = $names
        GuestRoot           = $GuestDirectory
        GuestLibraryPath    = '{0}\HvSignalGuest.ps1' -f $GuestDirectory
        GuestExePath        = '{0}\{1}' -f $GuestDirectory, $names.ConsoleProgram
        ParametersKeyPath   = '{0}\Parameters' -f $serviceKey
        WdfParametersKey    = '{0}\Parameters\Wdf' -f $serviceKey
        ResultsDirectory    = $ResultsDirectory
        DeviceInstanceId    = $null
        UnknownConnectionId = $UnknownConnectionId
        ScanFrom            = $ScanFrom
        ScanTo              = $ScanTo
        ReloadCount         = $ReloadCount
        BenchCalls          = $BenchCalls
        StrictConform       = [bool] $StrictConform
        InitialRawPolicy    = $null
        BaselineBootTime    = $null
        RunStartedGuest     = $null
        GuestCaption        = $null
        GuestBuild          = $null
        State               = @{
            LiveConnection = $null
            Notes          = New-Object -TypeName System.Collections.Generic.List[string]
        }
    }

    $facts = Invoke-HvGuestFunction -Context $context -Name 'Get-HvGuestFacts'
    $context.GuestCaption = $facts.Caption
    $context.GuestBuild = $facts.BuildNumber
    Write-HvLog -Message ("Guest: {0} {1} (build {2}, {3}), PowerShell {4}, user {5}" -f $facts.Caption, $facts.Version,
        $facts.BuildNumber, $facts.Architecture, $facts.PowerShellVersion, $facts.UserName)
    if (-not $facts.IsAdministrator) {
        throw "The guest credential ($($facts.UserName)) is not an elevated administrator in the guest."
    }
    if ($facts.Architecture -ne 'AMD64') {
        throw "The guest is $($facts.Architecture); the driver package is built for x64 (AMD64)."
    }
    if ($facts.BuildNumber -lt $minimumGuestBuild) {
        throw ("The guest is build {0}; the driver targets KMDF 1.33, which needs Windows 11 21H2 (22000) or " +
            "Windows Server 2022 (20348) or later.") -f $facts.BuildNumber
    }
    if ($facts.SecureBootEnabled -eq $true) {
        throw 'The guest reports Secure Boot on although the VM firmware setting is off; restart the VM and try again.'
    }
    if (-not $facts.TestSigning) {
        if (-not $Prepare) {
            throw "Test signing is off in the guest. Run once with -Prepare, or in the guest: bcdedit /set testsigning on, then restart."
        }
        Invoke-HvGuestFunction -Context $context -Name 'Enable-HvTestSigning' | Out-Null
        Restart-HvGuest -Context $context -Reason 'test signing on' -TimeoutSeconds ($BootTimeoutSeconds + 300)
        $facts = Invoke-HvGuestFunction -Context $context -Name 'Get-HvGuestFacts'
        if (-not $facts.TestSigning) {
            throw "Test signing is still off after 'bcdedit /set testsigning on' and a restart (boot options: $($facts.SystemStartOptions))."
        }
    }

    # ---- Copy and install -------------------------------------------------------------------
    Copy-Item -LiteralPath $package.Files -Destination $GuestDirectory -ToSession $context.Session -Force
    Copy-Item -LiteralPath $devgen -Destination $GuestDirectory -ToSession $context.Session -Force
    $guestDevgen = '{0}\{1}' -f $GuestDirectory, (Split-Path -Path $devgen -Leaf)

    $certificate = Invoke-HvGuestFunction -Context $context -Name 'Add-HvTrustedCertificate' -Parameters @{
        CertificatePath = '{0}\{1}' -f $GuestDirectory, $package.CertificateName
    }
    Write-HvLog -Message ("Test certificate {0} ({1}) trusted in: {2}" -f $certificate.Subject, $certificate.Thumbprint, (@($certificate.AddedTo) -join ', '))
    $installed = Invoke-HvGuestFunction -Context $context -Name 'Install-HvSignalDriver' -Parameters @{
        InfPath     = '{0}\{1}' -f $GuestDirectory, $names.DriverInf
        DevgenPath  = $guestDevgen
        HardwareId  = $names.HardwareId
        ServiceName = $names.ServiceName
    }
    $context.DeviceInstanceId = $installed.InstanceId
    Write-HvLog -Message ("Driver installed: device {0}, package {1}" -f $installed.InstanceId, $installed.PublishedInf)

    if ($Verifier) {
        $verified = @($names.DriverBinary, $names.KmdfRuntime)
        Invoke-HvGuestFunction -Context $context -Name 'Enable-HvDriverVerifier' -Parameters @{
            DriverNames      = $verified
            WdfParametersKey = $context.WdfParametersKey
        } | Out-Null
        $verifierEnabled = $true
        Restart-HvGuest -Context $context -Reason 'Driver Verifier on' -TimeoutSeconds ($BootTimeoutSeconds + 300)
        $verifierState = Invoke-HvGuestFunction -Context $context -Name 'Get-HvDriverVerifierState' -Parameters @{ DriverNames = $verified }
        if (@($verifierState.Missing).Count -gt 0) {
            throw "Driver Verifier is not active for: $(@($verifierState.Missing) -join ', ').`n$($verifierState.Output)"
        }
        Invoke-HvGuestFunction -Context $context -Name 'Wait-HvDeviceState' -Parameters @{
            InstanceId  = $context.DeviceInstanceId
            ServiceName = $names.ServiceName
            State       = 'Started'
        } | Out-Null
        Write-HvLog -Message 'Driver Verifier and the KMDF verifier are on.'
    }

    # ---- Baseline and scenarios ---------------------------------------------------------------
    $context.InitialRawPolicy = Invoke-HvGuestFunction -Context $context -Name 'Get-HvRegistryDword' -Parameters @{
        KeyPath   = $context.ParametersKeyPath
        ValueName = $names.RawPolicyValueName
    }
    $baseline = Invoke-HvGuestFunction -Context $context -Name 'Get-HvGuestFacts'
    $context.BaselineBootTime = $baseline.LastBootUpTime
    $context.RunStartedGuest = $baseline.Now

    # The run-wide ETW trace of both providers (trace-run.etl); stopped and collected in finally.
    # A trace that does not start fails the run but does not stop the scenarios.
    try {
        $runTrace = Start-HvTrace -Context $context -FileStem 'trace-run'
    }
    catch {
        $setupErrors.Add("The run-wide trace did not start: $($_.Exception.Message)")
        Write-HvLog -Level Error -Message "The run-wide trace did not start: $($_.Exception.Message)"
    }

    $junitPath = Join-Path -Path $ResultsDirectory -ChildPath 'junit.xml'
    if (-not $NoPester -and (Test-HvPesterAvailable)) {
        $runner = 'Pester 5'
        $results = Invoke-HvPesterRunner -Context $context -JUnitPath $junitPath -TestsPath (Join-Path -Path $PSScriptRoot -ChildPath 'HvSignal.Tests.ps1')
    }
    else {
        $runner = 'plain runner'
        if (-not $NoPester) {
            Write-HvLog -Level Warning -Message 'Pester 5.3+ is not installed (Install-Module -Name Pester -MinimumVersion 5.3.0 -SkipPublisherCheck); using the plain runner.'
        }
        $results = Invoke-HvPlainRunner -Context $context -JUnitPath $junitPath
    }
}
catch {
    $setupErrors.Add($_.Exception.Message)
    Write-HvLog -Level Error -Message $_.Exception.Message
    Write-HvLog -Level Error -Message ([string] $_.ScriptStackTrace)
}
finally {
    $failedScenarios = @($results | Where-Object -FilterScript { $_.Outcome -ne 'Passed' })
    $guestReady = ($null -ne $context) -and ($null -ne $context.Session)

    # ---- Run-wide trace (before the guest directory is removed) -------------------------------
    if ($guestReady -and $null -ne $runTrace) {
        Stop-HvTrace -Context $context -Trace $runTrace
    }

    # ---- Guest logs after a failure ---------------------------------------------------------
    if ($guestReady -and ($failedScenarios.Count -gt 0 -or $setupErrors.Count -gt 0)) {
        try {
            $guestDiagnostics = '{0}\diagnostics' -f $GuestDirectory
            $since = $context.RunStartedGuest
            if ($null -eq $since) {
                $since = (Get-Date).AddHours(-1)
            }
            Invoke-HvGuestFunction -Context $context -Name 'Export-HvDiagnostics' -Parameters @{
                Destination = $guestDiagnostics
                Since       = $since
                HardwareId  = $names.HardwareId
                InfName     = $names.DriverInf
            } | Out-Null
            $hostDiagnostics = Join-Path -Path $ResultsDirectory -ChildPath 'guest-logs'
            New-Item -ItemType Directory -Path $hostDiagnostics -Force | Out-Null
            Copy-Item -Path ('{0}\*' -f $guestDiagnostics) -Destination $hostDiagnostics -FromSession (Get-HvGuestSession -Context $context) -Recurse -Force
            Write-HvLog -Message "Guest logs copied to $hostDiagnostics"
        }
        catch {
            Write-HvLog -Level Warning -Message "Could not collect the guest logs: $($_.Exception.Message)"
        }
    }

    # ---- Cleanup in the guest ---------------------------------------------------------------
    if ($guestReady) {
        try {
            $removal = Invoke-HvGuestFunction -Context $context -Name 'Remove-HvSignalDriver' -Parameters @{
                HardwareId  = $names.HardwareId
                InfName     = $names.DriverInf
                ServiceName = $names.ServiceName
                DevgenPath  = $guestDevgen
            }
            foreach ($line in @($removal.Log)) {
                Write-HvLog -Message "cleanup: $line"
            }
            if ($removal.RebootNeeded) {
                Write-HvLog -Level Warning -Message 'Windows asks for a reboot to finish removing the driver.'
            }
            if ($null -ne $certificate -and @($certificate.AddedTo).Count -gt 0) {
                Invoke-HvGuestFunction -Context $context -Name 'Remove-HvTrustedCertificate' -Parameters @{
                    SerialNumber = $certificate.SerialNumber
                    Stores       = @($certificate.AddedTo)
                }
            }
            if ($verifierEnabled) {
                Invoke-HvGuestFunction -Context $context -Name 'Reset-HvDriverVerifier' -Parameters @{ WdfParametersKey = $context.WdfParametersKey }
                Write-HvLog -Message 'Driver Verifier reset (effective at the next boot of the guest).'
            }
            Invoke-Command -Session (Get-HvGuestSession -Context $context) -ArgumentList $GuestDirectory -ScriptBlock {
                param([string] $Path)
                Set-StrictMode -Version Latest
                $ErrorActionPreference = 'Stop'
                if (Test-Path -LiteralPath $Path) {
                    Remove-Item -LiteralPath $Path -Recurse -Force
                }
            }
        }
        catch {
            $setupErrors.Add("Cleanup in the guest failed: $($_.Exception.Message)")
            Write-HvLog -Level Error -Message "Cleanup in the guest failed: $($_.Exception.Message)"
        }
        Remove-PSSession -Session $context.Session -ErrorAction SilentlyContinue
    }

    # ---- Checkpoint -------------------------------------------------------------------------
    if (-not [string]::IsNullOrEmpty($Checkpoint) -and -not $KeepVm) {
        try {
            Restore-HvCheckpoint -Name $VMName -CheckpointName $Checkpoint
        }
        catch {
            $setupErrors.Add("Restoring checkpoint '$Checkpoint' failed: $($_.Exception.Message)")
            Write-HvLog -Level Error -Message "Restoring checkpoint '$Checkpoint' failed: $($_.Exception.Message)"
        }
    }
    elseif ($KeepVm) {
        Write-HvLog -Message "-KeepVm: VM '$VMName' is left running as it is now (driver removed)."
    }

    # ---- Reports ----------------------------------------------------------------------------
    $junitPath = Join-Path -Path $ResultsDirectory -ChildPath 'junit.xml'
    if (-not (Test-Path -LiteralPath $junitPath)) {
        # Setup failed before any scenario ran: the JUnit report says so instead of being absent.
        $setupResult = New-HvTestResult -Name 'setup' -Title 'harness setup' -Outcome Failed -Message ($setupErrors -join "`n")
        Write-HvJUnitReport -Results @($setupResult) -Path $junitPath -SuiteName 'hvsignal-vm'
    }
    $summaryContext = $context
    if ($null -eq $summaryContext) {
        $summaryContext = @{ VMName = $VMName }
    }
    $summaryPath = Join-Path -Path $ResultsDirectory -ChildPath 'summary.txt'
    $overall = Write-HvSummary -Context $summaryContext -Results $results -Path $summaryPath -Runner $runner -SetupErrors $setupErrors.ToArray()
    Get-Content -LiteralPath $summaryPath | ForEach-Object -Process { Write-Host -Object $_ }

    if ($setupErrors.Count -gt 0) {
        $exitCode = 2
    }
    elseif ($overall -eq 'PASSED') {
        $exitCode = 0
    }
    else {
        $exitCode = 1
    }
    Stop-Transcript | Out-Null
}
exit $exitCode
