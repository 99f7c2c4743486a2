<#
.SYNOPSIS
    Host-side module of the hvsignal Hyper-V VM harness: names, PowerShell Direct plumbing, the
    scenarios, the Pester and plain runners, and the JUnit and summary reports.

.DESCRIPTION
    Imported by Invoke-HvSignalVmTest.ps1 (the entry point) and by HvSignal.Tests.ps1 (the Pester
    container). Works in Windows PowerShell 5.1 and PowerShell 7 on the Hyper-V host; the guest
    side runs HvSignalGuest.ps1 in the guest's Windows PowerShell 5.1.

    Every hvsignal command line of the harness is written as a literal argument array passed to
    Invoke-HvSignal, Invoke-HvSignalNonElevated or (guest side) Invoke-HvSignalCli, so that the
    repository's Rust test (tests/hyperv_harness.rs) can check each one against the console
    program's contract.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# The one place the harness names the project's artefacts. tests/hyperv_harness.rs checks these
# values against hvsignal-proto's constants and the package layout, and fails when a script
# spells one of them anywhere else.
$script:HvSignalNames = @{
    ServiceName              = 'HvSignal'
    HardwareId               = 'Root\HvSignal'
    DriverBinary             = 'hvsignal_driver.sys'
    DriverInf                = 'hvsignal_driver.inf'
    DriverCatalog            = 'hvsignal_driver.cat'
    DriverSymbols            = 'hvsignal_driver.pdb'
    ConsoleProgram           = 'hvsignal.exe'
    RawPolicyValueName       = 'AllowRawHypercalls'
    PackageDirectoryName     = 'hvsignal_package'
    RegistryServicesRoot     = 'HKLM:\SYSTEM\CurrentControlSet\Services'
    KmdfRuntime              = 'wdf01000.sys'
    DriverTraceProvider      = 'HvSignal.Driver'
    DriverTraceProviderGuid  = '{44e0bdd4-8e8a-551b-327f-4b7410d28584}'
    ConsoleTraceProvider     = 'HvSignal.Console'
    ConsoleTraceProviderGuid = '{70240bed-0bf1-5a74-8968-dadc31358d0a}'
}

# HV_STATUS values the scenarios expect (docs/HYPERCALL.md, Status codes).
$script:HvStatusSuccess = 0
$script:HvStatusInvalidHypercallInput = 3
$script:HvStatusInvalidConnectionId = 18

# The signal IOCTL as the driver's Request event records it (hvsignal-proto's
# IOCTL_HVSIGNAL_SIGNAL, docs/PROTOCOL.md; tests/hyperv_harness.rs checks the value).
$script:HvIoctlSignal = 0x0022A004

# Console program exit statuses (docs/ARCHITECTURE.md).
$script:HvExitSuccess = 0
$script:HvExitHypercallStatus = 1
$script:HvExitEnvironment = 3

$script:HvLogPath = $null

function Get-HvSignalNames {
    <# A copy of the names table. #>
    return $script:HvSignalNames.Clone()
}

function Set-HvLogPath {
    param(
        [Parameter(Mandatory = $true)] [string] $Path
    )
    $script:HvLogPath = $Path
}

function Write-HvLog {
    <# One timestamped line to the console and to the harness log in the results directory. #>
    param(
        [Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Message,
        [ValidateSet('Info', 'Warning', 'Error')] [string] $Level = 'Info'
    )
    $line = '{0} [{1}] {2}' -f (Get-Date -Format 'HH:mm:ss'), $Level.ToUpperInvariant(), $Message
    switch ($Level) {
        'Warning' { Write-Warning -Message $Message }
        'Error' { Write-Host -Object $line -ForegroundColor Red }
        default { Write-Host -Object $line }
    }
    if ($null -ne $script:HvLogPath) {
        Add-Content -LiteralPath $script:HvLogPath -Value $line -Encoding UTF8
    }
}

function Get-HvPropertyValue {
    <# A property of an object, or Default when the object has no such property (StrictMode-safe). #>
    param(
        [AllowNull()] [object] $InputObject,
        [Parameter(Mandatory = $true)] [string] $Name,
        [AllowNull()] [object] $Default = $null
    )
    if ($null -eq $InputObject) {
        return $Default
    }
    if ($InputObject -is [System.Collections.IDictionary]) {
        if ($InputObject.Contains($Name)) {
            return $InputObject[$Name]
        }
        return $Default
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) {
        return $Default
    }
    return $property.Value
}

function Connect-HvGuest {
    <# Opens a PowerShell Direct session, retrying until the guest answers or the timeout passes. #>
    param(
        [Parameter(Mandatory = $true)] [string] $VMName,
        [Parameter(Mandatory = $true)] [System.Management.Automation.PSCredential] $Credential,
        [int] $TimeoutSeconds = 600
    )
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while ($true) {
        try {
            return New-PSSession -VMName $VMName -Credential $Credential -ErrorAction Stop
        }
        catch {
            if ((Get-Date) -gt $deadline) {
                throw ("The guest of VM '{0}' did not accept a PowerShell Direct session within {1} s: {2}`n" +
                    'Check that the VM runs Windows 10/Server 2016 or later, has finished booting, and that the ' +
                    'guest credential is a local administrator of the guest.') -f $VMName, $TimeoutSeconds, $_.Exception.Message
            }
            Start-Sleep -Seconds 5
        }
    }
}

function Get-HvGuestSession {
    <# The context's session, reopened when the guest dropped it (a reboot or a crash). #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [int] $TimeoutSeconds = 300
    )
    $session = $Context.Session
    if ($null -ne $session -and $session.State -eq 'Opened' -and $session.Availability -eq 'Available') {
        return $session
    }
    Write-HvLog -Level Warning -Message 'The PowerShell Direct session was lost; reconnecting.'
    if ($null -ne $session) {
        Remove-PSSession -Session $session -ErrorAction SilentlyContinue
    }
    $Context.Session = Connect-HvGuest -VMName $Context.VMName -Credential $Context.Credential -TimeoutSeconds $TimeoutSeconds
    return $Context.Session
}

function Invoke-HvGuestFunction {
    <#
        Calls one function of HvSignalGuest.ps1 in the guest: the script block loads the library
        (already copied to the guest) in a strict scope and splats the parameters. The library is
        read and dot-sourced as a script block rather than as a file, so the guest's execution
        policy (Restricted by default on Windows client) does not apply and is left untouched.
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $Name,
        [hashtable] $Parameters = @{}
    )
    $session = Get-HvGuestSession -Context $Context
    return Invoke-Command -Session $session -ArgumentList $Context.GuestLibraryPath, $Name, $Parameters -ScriptBlock {
        param(
            [string] $LibraryPath,
            [string] $FunctionName,
            [hashtable] $FunctionParameters
        )
        Set-StrictMode -Version Latest
        $ErrorActionPreference = 'Stop'
        . ([System.Management.Automation.ScriptBlock]::Create([System.IO.File]::ReadAllText($LibraryPath)))
        & $FunctionName @FunctionParameters
    }
}

function Restart-HvGuest {
    <# Restarts the guest and waits until a new session sees a new boot time. #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $Reason,
        [int] $TimeoutSeconds = 900
    )
    $before = (Invoke-HvGuestFunction -Context $Context -Name 'Get-HvGuestFacts').LastBootUpTime
    Write-HvLog -Message "Restarting the guest ($Reason)."
    Invoke-HvGuestFunction -Context $Context -Name 'Request-HvGuestRestart' -Parameters @{ Reason = "hvsignal harness: $Reason" }
    Remove-PSSession -Session $Context.Session -ErrorAction SilentlyContinue
    $Context.Session = $null
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    Start-Sleep -Seconds 15
    while ($true) {
        $remaining = [int] [Math]::Max(10, ($deadline - (Get-Date)).TotalSeconds)
        $Context.Session = Connect-HvGuest -VMName $Context.VMName -Credential $Context.Credential -TimeoutSeconds $remaining
        $after = $before
        try {
            $after = (Invoke-HvGuestFunction -Context $Context -Name 'Get-HvGuestFacts').LastBootUpTime
        }
        catch {
            # The session was opened while the guest was still shutting down and broke under the
            # call; try again until the deadline.
            Write-HvLog -Level Warning -Message "The guest is not back yet: $($_.Exception.Message)"
        }
        if ($after -ne $before) {
            Write-HvLog -Message "The guest is back (booted $after)."
            return
        }
        Remove-PSSession -Session $Context.Session -ErrorAction SilentlyContinue
        $Context.Session = $null
        if ((Get-Date) -gt $deadline) {
            throw "The guest did not restart within $TimeoutSeconds s."
        }
        Start-Sleep -Seconds 5
    }
}

function Add-HvCommandLog {
    <# Appends one console-program call with its full output to commands.log. #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $CommandLine,
        [Parameter(Mandatory = $true)] $Result
    )
    $text = @(
        ('==== {0}  {1}' -f (Get-Date -Format 's'), $CommandLine),
        ('exit {0}' -f $Result.ExitCode),
        '---- stdout',
        [string] (Get-HvPropertyValue -InputObject $Result -Name 'StdOut' -Default ''),
        '---- stderr',
        [string] (Get-HvPropertyValue -InputObject $Result -Name 'StdErr' -Default '')
    )
    Add-Content -LiteralPath (Join-Path -Path $Context.ResultsDirectory -ChildPath 'commands.log') -Value $text -Encoding UTF8
}

function ConvertFrom-HvJsonOutput {
    param(
        [Parameter(Mandatory = $true)] [string] $CommandLine,
        [AllowEmptyString()] [string] $Text
    )
    if ([string]::IsNullOrWhiteSpace($Text)) {
        throw "'$CommandLine' printed no JSON document."
    }
    try {
        return ($Text | ConvertFrom-Json)
    }
    catch {
        throw "'$CommandLine' printed something that is not JSON: $($_.Exception.Message)"
    }
}

function Invoke-HvSignal {
    <#
        Runs the console program in the guest (as the session's administrator), logs the call,
        optionally saves stdout in the results directory, enforces the exit code and parses the
        JSON document when --json was given.
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [object[]] $ArgumentList,
        [int[]] $AllowedExitCode = @(0),
        [string] $SaveAs
    )
    $arguments = @($ArgumentList | ForEach-Object -Process { [string] $_ })
    $commandLine = 'hvsignal ' + ($arguments -join ' ')
    $result = Invoke-HvGuestFunction -Context $Context -Name 'Invoke-HvSignalCli' -Parameters @{
        ExePath      = $Context.GuestExePath
        ArgumentList = $arguments
    }
    Write-HvLog -Message ('{0} -> exit {1}' -f $commandLine, $result.ExitCode)
    Add-HvCommandLog -Context $Context -CommandLine $commandLine -Result $result
    if (-not [string]::IsNullOrEmpty($SaveAs)) {
        Set-Content -LiteralPath (Join-Path -Path $Context.ResultsDirectory -ChildPath $SaveAs) -Value $result.StdOut -Encoding UTF8
    }
    if ($AllowedExitCode -notcontains [int] $result.ExitCode) {
        throw ("'{0}' exited with {1}, expected {2}.`nstdout:`n{3}`nstderr:`n{4}" -f $commandLine, $result.ExitCode,
            ($AllowedExitCode -join ' or '), $result.StdOut, $result.StdErr)
    }
    $json = $null
    if ($arguments -contains '--json') {
        $json = ConvertFrom-HvJsonOutput -CommandLine $commandLine -Text $result.StdOut
    }
    return [pscustomobject]@{
        CommandLine = $commandLine
        ExitCode    = [int] $result.ExitCode
        StdOut      = [string] $result.StdOut
        StdErr      = [string] $result.StdErr
        Json        = $json
    }
}

function Invoke-HvSignalNonElevated {
    <# Runs the console program in the guest as a throw-away standard user (see the guest side). #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [object[]] $ArgumentList
    )
    $arguments = @($ArgumentList | ForEach-Object -Process { [string] $_ })
    $commandLine = 'hvsignal ' + ($arguments -join ' ') + '  (as a standard user)'
    $result = Invoke-HvGuestFunction -Context $Context -Name 'Invoke-HvSignalAsStandardUser' -Parameters @{
        ExePath       = $Context.GuestExePath
        ArgumentList  = $arguments
        WorkDirectory = $Context.GuestRoot
    }
    Write-HvLog -Message ('{0} -> exit {1}' -f $commandLine, $result.ExitCode)
    Add-HvCommandLog -Context $Context -CommandLine $commandLine -Result $result
    return $result
}

function Assert-HvCondition {
    param(
        [Parameter(Mandatory = $true)] [bool] $Condition,
        [Parameter(Mandatory = $true)] [string] $Message
    )
    if (-not $Condition) {
        throw $Message
    }
}

function Get-HvJsonValue {
    <# The value at a dotted path of a parsed JSON document; a clear error when a key is missing. #>
    param(
        [Parameter(Mandatory = $true)] $Result,
        [Parameter(Mandatory = $true)] [string] $Path
    )
    $current = $Result.Json
    $walked = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($key in $Path.Split('.')) {
        $walked.Add($key)
        if ($null -eq $current -or $null -eq $current.PSObject.Properties[$key]) {
            throw ("The JSON of '{0}' has no key '{1}' (docs/ARCHITECTURE.md lists the keys the harness reads)." -f
                $Result.CommandLine, ($walked -join '.'))
        }
        $current = $current.$key
    }
    return $current
}

function Get-HvFirstOperation {
    <# operations[0] of a signal document. #>
    param(
        [Parameter(Mandatory = $true)] $Result
    )
    $operations = @(Get-HvJsonValue -Result $Result -Path 'operations')
    Assert-HvCondition -Condition ($operations.Count -ge 1) -Message "'$($Result.CommandLine)' reported no operation."
    return $operations[0]
}

function Assert-HvSignalStatus {
    <# Every call of the first operation returned the expected HV_STATUS. #>
    param(
        [Parameter(Mandatory = $true)] $Result,
        [Parameter(Mandatory = $true)] [int] $Expected,
        [Parameter(Mandatory = $true)] [string] $ExpectedName
    )
    $operation = Get-HvFirstOperation -Result $Result
    $first = $operation.first_status
    $last = $operation.last_status
    $message = "'{0}': expected {1} ({2}) for every call, got first {3} ({4}), last {5} ({6}), {7} successes and {8} failures of {9} calls." -f
    $Result.CommandLine, $ExpectedName, $Expected, $first.code, $first.name, $last.code, $last.name,
    $operation.successes, $operation.failures, $operation.calls
    Assert-HvCondition -Condition ([int] $first.code -eq $Expected -and [int] $last.code -eq $Expected) -Message $message
    if ($Expected -eq $script:HvStatusSuccess) {
        Assert-HvCondition -Condition ([int64] $operation.successes -eq [int64] $operation.calls) -Message $message
    }
    else {
        Assert-HvCondition -Condition ([int64] $operation.failures -eq [int64] $operation.calls) -Message $message
    }
}

function Get-HvRawPolicyParameters {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    return @{
        KeyPath   = $Context.ParametersKeyPath
        ValueName = $Context.Names.RawPolicyValueName
    }
}

function Restart-HvDriver {
    <# Disables and enables the device so that DriverEntry runs again (and re-reads its policy). #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    Invoke-HvGuestFunction -Context $Context -Name 'Restart-HvSignalDevice' -Parameters @{
        InstanceId  = $Context.DeviceInstanceId
        ServiceName = $Context.Names.ServiceName
    } | Out-Null
}

function Add-HvNote {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $Note
    )
    $Context.State.Notes.Add($Note)
    Write-HvLog -Message $Note
}

# ---------------------------------------------------------------------------------------------
# Scenarios. Each throws on failure with a message that says what was expected and what came
# back; the Pester container and the plain runner call the same functions.
# ---------------------------------------------------------------------------------------------

function Test-HvScenarioInfo {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $info = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'info') -SaveAs 'info.json'
    Assert-HvCondition -Condition ((Get-HvJsonValue -Result $info -Path 'simulated') -eq $false) -Message 'info says the report is simulated: the console program did not use the device backend.'
    Assert-HvCondition -Condition ((Get-HvJsonValue -Result $info -Path 'backend') -eq 'device') -Message 'info did not report the device backend.'
    Assert-HvCondition -Condition ((Get-HvJsonValue -Result $info -Path 'hypervisor.present') -eq $true) -Message 'info reports no hypervisor.'
    $vendor = Get-HvJsonValue -Result $info -Path 'hypervisor.vendor_signature'
    Assert-HvCondition -Condition ($vendor -eq 'Microsoft Hv') -Message "The hypervisor vendor signature is '$vendor', expected 'Microsoft Hv'."
    $interface = Get-HvJsonValue -Result $info -Path 'hypervisor.interface'
    Assert-HvCondition -Condition ($interface -eq 'Hv#1') -Message "The hypervisor interface is '$interface', expected 'Hv#1'."
    $mask = Get-HvJsonValue -Result $info -Path 'privileges.mask'
    Assert-HvCondition -Condition ((Get-HvJsonValue -Result $info -Path 'privileges.signal_events') -eq $true) -Message "The partition lacks the SignalEvents privilege (mask $mask)."
    $protocol = Get-HvJsonValue -Result $info -Path 'driver.protocol_version'
    Assert-HvCondition -Condition ($null -ne $protocol) -Message 'info reports no driver protocol version.'
    $expectedRaw = ($Context.InitialRawPolicy -eq 1)
    $raw = Get-HvJsonValue -Result $info -Path 'driver.allow_raw_hypercalls'
    Assert-HvCondition -Condition ($raw -eq $expectedRaw) -Message "The driver reports allow_raw_hypercalls=$raw but the registry policy says $expectedRaw."
    Add-HvNote -Context $Context -Note ("info: {0} / {1}, privilege mask {2}, driver protocol {3}" -f $vendor, $interface, $mask, $protocol)

    $status = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'status', '18')
    $name = Get-HvJsonValue -Result $status -Path 'name'
    Assert-HvCondition -Condition ($name -eq 'HV_STATUS_INVALID_CONNECTION_ID') -Message "status 18 decodes to '$name'."
}

function Test-HvScenarioUnknownConnection {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $id = [string] $Context.UnknownConnectionId
    $fast = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id) -AllowedExitCode @(1) -SaveAs 'signal-unknown-fast.json'
    Assert-HvSignalStatus -Result $fast -Expected $script:HvStatusInvalidConnectionId -ExpectedName 'HV_STATUS_INVALID_CONNECTION_ID'
    $memory = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--memory') -AllowedExitCode @(1) -SaveAs 'signal-unknown-memory.json'
    Assert-HvSignalStatus -Result $memory -Expected $script:HvStatusInvalidConnectionId -ExpectedName 'HV_STATUS_INVALID_CONNECTION_ID'
}

function Test-HvScenarioRawInvalidInput {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $id = [string] $Context.UnknownConnectionId
    $policy = Get-HvRawPolicyParameters -Context $Context
    $original = Invoke-HvGuestFunction -Context $Context -Name 'Get-HvRegistryDword' -Parameters $policy
    $failure = $null
    try {
        Invoke-HvGuestFunction -Context $Context -Name 'Set-HvRegistryDword' -Parameters ($policy + @{ Value = 1 })
        Restart-HvDriver -Context $Context
        $info = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'info')
        Assert-HvCondition -Condition ((Get-HvJsonValue -Result $info -Path 'driver.allow_raw_hypercalls') -eq $true) -Message 'After setting the raw policy and reloading the driver, info still reports raw hypercalls as not allowed.'

        $expected = $script:HvStatusInvalidHypercallInput
        $name = 'HV_STATUS_INVALID_HYPERCALL_INPUT'
        $repCount = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--rep-count', '1') -AllowedExitCode @(1) -SaveAs 'raw-rep-count.json'
        Assert-HvSignalStatus -Result $repCount -Expected $expected -ExpectedName $name
        $repStart = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--rep-start', '1') -AllowedExitCode @(1) -SaveAs 'raw-rep-start.json'
        Assert-HvSignalStatus -Result $repStart -Expected $expected -ExpectedName $name
        $varHeader = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--var-header', '1') -AllowedExitCode @(1) -SaveAs 'raw-var-header.json'
        Assert-HvSignalStatus -Result $varHeader -Expected $expected -ExpectedName $name
        # Reserved control-word bits 30:27 (bit 27) and 47:44 (bit 44).
        $bit27 = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--control-bits', '0x8000000') -AllowedExitCode @(1) -SaveAs 'raw-control-bit27.json'
        Assert-HvSignalStatus -Result $bit27 -Expected $expected -ExpectedName $name
        $bit44 = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--control-bits', '0x100000000000') -AllowedExitCode @(1) -SaveAs 'raw-control-bit44.json'
        Assert-HvSignalStatus -Result $bit44 -Expected $expected -ExpectedName $name
    }
    catch {
        $failure = $_
    }
    finally {
        # Raw mode off again (the value as it was before), and the driver reloaded to read it.
        Invoke-HvGuestFunction -Context $Context -Name 'Set-HvRegistryDword' -Parameters ($policy + @{ Value = $original })
        Restart-HvDriver -Context $Context
    }
    if ($null -ne $failure) {
        throw $failure
    }
    if ($original -ne 1) {
        $info = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'info')
        Assert-HvCondition -Condition ((Get-HvJsonValue -Result $info -Path 'driver.allow_raw_hypercalls') -eq $false) -Message 'Raw hypercalls are still allowed after the policy was restored and the driver reloaded.'
        Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--rep-count', '1') -AllowedExitCode @(3) | Out-Null
    }
}

function Test-HvScenarioScanAndSignal {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $from = [string] $Context.ScanFrom
    $to = [string] $Context.ScanTo
    $scan = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'scan', '--from', $from, '--to', $to, '--yes') -AllowedExitCode @(0, 1) -SaveAs 'scan.json'
    $live = @(Get-HvJsonValue -Result $scan -Path 'live_connections')
    $results = @(Get-HvJsonValue -Result $scan -Path 'results')
    Assert-HvCondition -Condition ($results.Count -ge 1) -Message "The scan of $from..$to reported no results."
    Assert-HvCondition -Condition ($live.Count -ge 1) -Message ("The scan of {0}..{1} found no live connection. Widen the range with -ScanFrom/-ScanTo (VMBus uses small ids " +
        "and ids from 0x2000 up)." -f $from, $to)
    Assert-HvCondition -Condition (-not ($live -contains $Context.UnknownConnectionId)) -Message "The 'unknown' connection id $($Context.UnknownConnectionId) is live in this VM; choose another with -UnknownConnectionId."
    $liveId = [string] $live[0]
    $Context.State.LiveConnection = $liveId
    Add-HvNote -Context $Context -Note ("scan {0}..{1}: {2} live connection(s): {3}" -f $from, $to, $live.Count, ($live -join ', '))

    $fast = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $liveId, '--calls', '100') -SaveAs 'signal-live-fast.json'
    Assert-HvSignalStatus -Result $fast -Expected $script:HvStatusSuccess -ExpectedName 'HV_STATUS_SUCCESS'
    $memory = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $liveId, '--calls', '100', '--memory') -SaveAs 'signal-live-memory.json'
    Assert-HvSignalStatus -Result $memory -Expected $script:HvStatusSuccess -ExpectedName 'HV_STATUS_SUCCESS'
}

function Test-HvScenarioConform {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $live = $Context.State.LiveConnection
    if ($null -ne $live) {
        $report = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'conform', '--profile', 'tlfs', '--connection', $live) -AllowedExitCode @(0, 1) -SaveAs 'conform-tlfs.json'
    }
    else {
        Add-HvNote -Context $Context -Note 'conform: no live connection known (the scan scenario failed); cases that need one are left to the console program.'
        $report = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'conform', '--profile', 'tlfs') -AllowedExitCode @(0, 1) -SaveAs 'conform-tlfs.json'
    }
    $profileName = Get-HvJsonValue -Result $report -Path 'profile'
    Assert-HvCondition -Condition ($profileName -eq 'tlfs') -Message "The conform report is for profile '$profileName', expected 'tlfs'."
    $cases = @(Get-HvJsonValue -Result $report -Path 'cases')
    Assert-HvCondition -Condition ($cases.Count -ge 1) -Message 'The conform report has no cases.'
    $passed = [int] (Get-HvJsonValue -Result $report -Path 'summary.passed')
    $failed = [int] (Get-HvJsonValue -Result $report -Path 'summary.failed')
    $informational = [int] (Get-HvJsonValue -Result $report -Path 'summary.informational')
    # Cases the device cannot run (e.g. without a live connection) may be counted as skipped.
    $skipped = [int] (Get-HvPropertyValue -InputObject (Get-HvJsonValue -Result $report -Path 'summary') -Name 'skipped' -Default 0)
    Assert-HvCondition -Condition ($passed + $failed + $informational + $skipped -eq $cases.Count) -Message "The conform summary ($passed passed + $failed failed + $informational informational + $skipped skipped) does not add up to $($cases.Count) cases."
    $failedNames = @($cases | Where-Object -FilterScript { $_.verdict -eq 'fail' } | ForEach-Object -Process { $_.name })
    $note = 'conform tlfs: {0} passed, {1} failed, {2} informational, {3} skipped' -f $passed, $failed, $informational, $skipped
    if ($failedNames.Count -gt 0) {
        $note += ' (failed: ' + ($failedNames -join ', ') + ')'
    }
    Add-HvNote -Context $Context -Note $note
    if ($Context.StrictConform) {
        Assert-HvCondition -Condition ($failed -eq 0) -Message "conform --profile tlfs found $failed mismatch(es) with -StrictConform: $($failedNames -join ', ')."
    }
}

function Save-HvGuestFile {
    <#
        Copies a file from the guest to the host when it exists there. It runs in finally blocks,
        after a step that may have failed or crashed the guest, so a failure to copy becomes a
        note instead of hiding the step's own error.
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $GuestPath,
        [Parameter(Mandatory = $true)] [string] $HostPath
    )
    try {
        $session = Get-HvGuestSession -Context $Context
        $exists = Invoke-Command -Session $session -ArgumentList $GuestPath -ScriptBlock {
            param([string] $Path)
            Test-Path -LiteralPath $Path -PathType Leaf
        }
        if ($exists) {
            Copy-Item -LiteralPath $GuestPath -Destination $HostPath -FromSession $session -Force
        }
        else {
            Add-HvNote -Context $Context -Note "The guest has no $GuestPath to collect."
        }
    }
    catch {
        Add-HvNote -Context $Context -Note ("Could not collect {0} from the guest: {1}" -f $GuestPath, $_.Exception.Message)
    }
}

function Test-HvScenarioFuzz {
    <#
        A bounded fuzz run: fixed seed, 4000 calls, compared with the tlfs profile. Its log is
        written in the guest (flushed before every request) and copied next to its JSON summary.
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    # fuzz never overwrites a log: a new name per run. The guest path is formatted, not joined:
    # Join-Path runs on the host and fails when the guest's drive does not exist here.
    $logName = 'fuzz-tlfs-{0}.log' -f (Get-Date -Format 'yyyyMMdd-HHmmss')
    $guestLog = '{0}\{1}' -f $Context.GuestRoot, $logName
    $hostLog = Join-Path -Path $Context.ResultsDirectory -ChildPath $logName
    $live = $Context.State.LiveConnection
    try {
        if ($null -ne $live) {
            $report = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'fuzz', '--seed', '42', '--iterations', '4000', '--profile', 'tlfs', '--log', $guestLog, '--connection', $live) -AllowedExitCode @(0, 1) -SaveAs 'fuzz-tlfs.json'
        }
        else {
            Add-HvNote -Context $Context -Note 'fuzz: no live connection known (the scan scenario failed); fuzz finds them with its own quick scan.'
            $report = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'fuzz', '--seed', '42', '--iterations', '4000', '--profile', 'tlfs', '--log', $guestLog) -AllowedExitCode @(0, 1) -SaveAs 'fuzz-tlfs.json'
        }
    }
    finally {
        # The log matters most when the run failed, timed out or crashed the guest: it is
        # collected whatever happened (after a crash the session is reopened once the guest is
        # back).
        Save-HvGuestFile -Context $Context -GuestPath $guestLog -HostPath $hostLog
    }
    $profileName = Get-HvJsonValue -Result $report -Path 'profile'
    Assert-HvCondition -Condition ($profileName -eq 'tlfs') -Message "The fuzz report is for profile '$profileName', expected 'tlfs'."
    $seed = Get-HvJsonValue -Result $report -Path 'seed'
    Assert-HvCondition -Condition ($seed -eq '0x000000000000002a') -Message "The fuzz report's seed is '$seed', expected 0x000000000000002a."
    $calls = [int64] (Get-HvJsonValue -Result $report -Path 'summary.calls')
    Assert-HvCondition -Condition ($calls -eq 4000) -Message "fuzz issued $calls calls, expected 4000."
    $findings = [int64] (Get-HvJsonValue -Result $report -Path 'summary.findings')
    $expectedExit = 0
    if ($findings -gt 0) {
        $expectedExit = 1
    }
    Assert-HvCondition -Condition ($report.ExitCode -eq $expectedExit) -Message "fuzz exited with $($report.ExitCode) for $findings finding(s), expected $expectedExit."
    Add-HvNote -Context $Context -Note ('fuzz tlfs (seed 42, 4000 calls): {0} finding(s); log {1}' -f $findings, $logName)
}

# ---------------------------------------------------------------------------------------------
# ETW traces (docs/WINDOWS.md, Tracing): a session in the guest takes every event of the
# driver's and the console program's TraceLogging providers; the .etl and its decoded XML are
# copied into the results directory.
# ---------------------------------------------------------------------------------------------

function Start-HvTrace {
    <#
        Starts the guest trace session hvsignal-harness-<FileStem> for both providers, writing
        <FileStem>.etl in the guest directory, and returns where its files go in the guest and on
        the host (for Stop-HvTrace).
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $FileStem
    )
    # Guest paths are formatted, not joined: Join-Path runs on the host (see Test-HvScenarioFuzz).
    $trace = [pscustomobject]@{
        SessionName = 'hvsignal-harness-' + $FileStem
        GuestEtl    = '{0}\{1}.etl' -f $Context.GuestRoot, $FileStem
        GuestXml    = '{0}\{1}.xml' -f $Context.GuestRoot, $FileStem
        HostEtl     = Join-Path -Path $Context.ResultsDirectory -ChildPath ($FileStem + '.etl')
        HostXml     = Join-Path -Path $Context.ResultsDirectory -ChildPath ($FileStem + '.xml')
    }
    Invoke-HvGuestFunction -Context $Context -Name 'Start-HvTraceSession' -Parameters @{
        SessionName   = $trace.SessionName
        Path          = $trace.GuestEtl
        ProviderGuids = @($Context.Names.DriverTraceProviderGuid, $Context.Names.ConsoleTraceProviderGuid)
    } | Out-Null
    Write-HvLog -Message ('Trace session {0} started ({1}).' -f $trace.SessionName, $trace.GuestEtl)
    return $trace
}

function Stop-HvTrace {
    <#
        Stops a session of Start-HvTrace, decodes it in the guest and copies the .etl and the XML
        to the host. It runs in finally blocks, so a failure becomes a note instead of hiding the
        error of the step it wrapped; whoever reads the XML fails clearly when it is missing.
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] $Trace
    )
    try {
        Invoke-HvGuestFunction -Context $Context -Name 'Stop-HvTraceSession' -Parameters @{
            SessionName = $Trace.SessionName
            Path        = $Trace.GuestEtl
            XmlPath     = $Trace.GuestXml
        } | Out-Null
        Write-HvLog -Message ('Trace session {0} stopped.' -f $Trace.SessionName)
    }
    catch {
        Add-HvNote -Context $Context -Note ('Trace session {0}: {1}' -f $Trace.SessionName, $_.Exception.Message)
    }
    Save-HvGuestFile -Context $Context -GuestPath $Trace.GuestEtl -HostPath $Trace.HostEtl
    Save-HvGuestFile -Context $Context -GuestPath $Trace.GuestXml -HostPath $Trace.HostXml
}

function Read-HvTraceEvent {
    <#
        The events of a tracerpt XML file, each with its provider's name and GUID, its event name
        (tracerpt gives a TraceLogging event's name as RenderingInfo/Task) and its fields (name ->
        the text of each Data element of that name). Namespaces are matched by local name.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $Path
    )
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        throw "The decoded trace $Path is missing: the session did not stop, tracerpt failed or the copy failed (see the notes)."
    }
    $document = New-Object -TypeName System.Xml.XmlDocument
    $document.Load($Path)
    $events = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($node in @($document.SelectNodes("//*[local-name()='Event']"))) {
        $provider = $node.SelectSingleNode("*[local-name()='System']/*[local-name()='Provider']")
        $providerName = ''
        $providerGuid = ''
        if ($null -ne $provider) {
            $providerName = $provider.GetAttribute('Name')
            $providerGuid = $provider.GetAttribute('Guid')
        }
        $task = $node.SelectSingleNode("*[local-name()='RenderingInfo']/*[local-name()='Task']")
        $eventName = ''
        if ($null -ne $task) {
            $eventName = $task.InnerText.Trim()
        }
        $fields = @{}
        foreach ($data in @($node.SelectNodes("*[local-name()='EventData']/*[local-name()='Data']"))) {
            $fieldName = $data.GetAttribute('Name')
            if (-not $fields.ContainsKey($fieldName)) {
                $fields[$fieldName] = New-Object -TypeName System.Collections.Generic.List[string]
            }
            $fields[$fieldName].Add($data.InnerText)
        }
        $events.Add([pscustomobject]@{
                Provider     = $providerName
                ProviderGuid = $providerGuid
                EventName    = $eventName
                Fields       = $fields
            })
    }
    return , $events.ToArray()
}

function Find-HvTraceEvent {
    <# The decoded events of one provider (by name or GUID) with one event name. #>
    param(
        [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Events,
        [Parameter(Mandatory = $true)] [string] $Provider,
        [Parameter(Mandatory = $true)] [string] $ProviderGuid,
        [Parameter(Mandatory = $true)] [string] $EventName
    )
    # Emitted one by one (no unary comma): callers collect them with @(), also when none match.
    return @($Events | Where-Object -FilterScript {
            ($_.Provider -eq $Provider -or $_.ProviderGuid -eq $ProviderGuid) -and $_.EventName -eq $EventName
        })
}

function Get-HvTraceField {
    <#
        The text of one field of a decoded event, named 'Event.Field' (tests/hyperv_harness.rs
        checks every such name against hvsignal_proto::trace); a clear error when the event is
        another one or lacks the field.
    #>
    param(
        [Parameter(Mandatory = $true)] $TraceEvent,
        [Parameter(Mandatory = $true)] [string] $Path
    )
    $parts = $Path.Split('.')
    if ($parts.Count -ne 2) {
        throw "Trace field '$Path' is not named Event.Field."
    }
    if ($TraceEvent.EventName -ne $parts[0]) {
        throw "Trace field '$Path' read from a '$($TraceEvent.EventName)' event."
    }
    if (-not $TraceEvent.Fields.ContainsKey($parts[1])) {
        throw ("The {0} event of {1} has no field '{2}' (it has: {3})." -f $parts[0], $TraceEvent.Provider, $parts[1],
            (@($TraceEvent.Fields.Keys | Sort-Object) -join ', '))
    }
    return (@($TraceEvent.Fields[$parts[1]]) -join ' ')
}

function ConvertFrom-HvTraceNumber {
    <# The numbers of a field's text as tracerpt writes them: decimal or 0x-hex, one or more (array items, with any [index] dropped). #>
    param(
        [Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Text,
        [Parameter(Mandatory = $true)] [string] $What
    )
    $numbers = New-Object -TypeName System.Collections.Generic.List[int64]
    foreach ($word in ([regex]::Replace($Text, '\[\d+\]', ' ') -split '[\s,;]+')) {
        if ($word -match '^0x([0-9a-fA-F]{1,16})$') {
            $numbers.Add([Convert]::ToInt64($Matches[1], 16))
        }
        elseif ($word -match '^-?[0-9]{1,18}$') {
            $numbers.Add([int64] $word)
        }
        elseif ($word.Length -gt 0) {
            throw "$What is '$Text', not a number (or a list of numbers)."
        }
    }
    return , $numbers.ToArray()
}

function Assert-HvTraceField {
    <# A field of a decoded event has exactly the expected text, or the expected numbers when -Number. #>
    param(
        [Parameter(Mandatory = $true)] $TraceEvent,
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [object[]] $Expected,
        [switch] $Number
    )
    $text = Get-HvTraceField -TraceEvent $TraceEvent -Path $Path
    if ($Number) {
        $actual = ConvertFrom-HvTraceNumber -Text $text -What "Trace field $Path"
        $wanted = @($Expected | ForEach-Object -Process { [int64] $_ })
        $same = ($actual.Count -eq $wanted.Count) -and (@(Compare-Object -ReferenceObject $wanted -DifferenceObject $actual -SyncWindow 0).Count -eq 0)
    }
    else {
        $same = ($Expected.Count -eq 1) -and ($text -ceq [string] $Expected[0])
    }
    Assert-HvCondition -Condition $same -Message ("Trace field {0} is '{1}', expected '{2}'." -f $Path, $text, ($Expected -join ' '))
}

function Test-HvScenarioTrace {
    <#
        A trace session of its own around one known request: a signal of the unknown connection
        id with 3 calls (HV_STATUS_INVALID_CONNECTION_ID each, exit 1). The decoded trace must
        hold exactly one Command event of the console program and one Request event of the
        driver for it, with exactly that request's values, and no Refusal (the request itself
        succeeds; the hypercall status is in the response). The run-wide trace (trace-run.etl)
        is the entry script's.
    #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $id = [string] $Context.UnknownConnectionId
    $trace = Start-HvTrace -Context $Context -FileStem 'trace-signal'
    try {
        $signal = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'signal', '-c', $id, '--calls', '3') -AllowedExitCode @(1) -SaveAs 'trace-signal.json'
    }
    finally {
        Stop-HvTrace -Context $Context -Trace $trace
    }
    Assert-HvSignalStatus -Result $signal -Expected $script:HvStatusInvalidConnectionId -ExpectedName 'HV_STATUS_INVALID_CONNECTION_ID'

    $names = $Context.Names
    $events = Read-HvTraceEvent -Path $trace.HostXml
    $seen = ($events | Group-Object -Property Provider, EventName | ForEach-Object -Process { '{0} x{1}' -f $_.Name, $_.Count }) -join '; '
    $commands = @(Find-HvTraceEvent -Events $events -Provider $names.ConsoleTraceProvider -ProviderGuid $names.ConsoleTraceProviderGuid -EventName 'Command')
    Assert-HvCondition -Condition ($commands.Count -eq 1) -Message ("The trace holds {0} Command event(s) of {1} {2}, expected 1 (decoded: {3})." -f
        $commands.Count, $names.ConsoleTraceProvider, $names.ConsoleTraceProviderGuid, $seen)
    $requests = @(Find-HvTraceEvent -Events $events -Provider $names.DriverTraceProvider -ProviderGuid $names.DriverTraceProviderGuid -EventName 'Request' |
            Where-Object -FilterScript { (Get-HvTraceField -TraceEvent $_ -Path 'Request.Request') -ceq 'signal' })
    Assert-HvCondition -Condition ($requests.Count -eq 1) -Message ("The trace holds {0} signal Request event(s) of {1} {2}, expected 1: is the driver's provider registered? (decoded: {3})" -f
        $requests.Count, $names.DriverTraceProvider, $names.DriverTraceProviderGuid, $seen)
    $refusals = @(Find-HvTraceEvent -Events $events -Provider $names.DriverTraceProvider -ProviderGuid $names.DriverTraceProviderGuid -EventName 'Refusal')
    Assert-HvCondition -Condition ($refusals.Count -eq 0) -Message "The trace holds $($refusals.Count) Refusal event(s) for a request the driver completed with success."

    # The program's event: the command, its arguments after the program name, the backend, the exit status.
    $command = $commands[0]
    Assert-HvTraceField -TraceEvent $command -Path 'Command.Command' -Expected @('signal')
    Assert-HvTraceField -TraceEvent $command -Path 'Command.Arguments' -Expected @($signal.CommandLine.Substring('hvsignal '.Length))
    Assert-HvTraceField -TraceEvent $command -Path 'Command.Backend' -Expected @('device')
    Assert-HvTraceField -TraceEvent $command -Path 'Command.ExitCode' -Expected @($script:HvExitHypercallStatus) -Number

    # The driver's event: the IOCTL, one operation of 3 fast calls, each status 18, STATUS_SUCCESS.
    $request = $requests[0]
    Assert-HvTraceField -TraceEvent $request -Path 'Request.Ioctl' -Expected @($script:HvIoctlSignal) -Number
    Assert-HvTraceField -TraceEvent $request -Path 'Request.Operations' -Expected @(1) -Number
    Assert-HvTraceField -TraceEvent $request -Path 'Request.Calls' -Expected @(3) -Number
    Assert-HvTraceField -TraceEvent $request -Path 'Request.Convention' -Expected @('fast')
    Assert-HvTraceField -TraceEvent $request -Path 'Request.FirstStatus' -Expected @($script:HvStatusInvalidConnectionId) -Number
    Assert-HvTraceField -TraceEvent $request -Path 'Request.LastStatus' -Expected @($script:HvStatusInvalidConnectionId) -Number
    Assert-HvTraceField -TraceEvent $request -Path 'Request.Status' -Expected @(0) -Number
    Add-HvNote -Context $Context -Note ('trace: Command and Request events of {0} match; {1} events decoded ({2})' -f $signal.CommandLine, $events.Count, $seen)
}

function Test-HvBenchDocument {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] $Result,
        [Parameter(Mandatory = $true)] [string] $Label
    )
    $calls = [int64] (Get-HvJsonValue -Result $Result -Path 'calls')
    Assert-HvCondition -Condition ($calls -eq [int64] $Context.BenchCalls) -Message "bench ($Label) timed $calls calls, expected $($Context.BenchCalls)."
    $minimum = [double] (Get-HvJsonValue -Result $Result -Path 'cycles.min')
    $median = [double] (Get-HvJsonValue -Result $Result -Path 'cycles.median')
    $maximum = [double] (Get-HvJsonValue -Result $Result -Path 'cycles.max')
    Assert-HvCondition -Condition ($minimum -gt 0 -and $minimum -le $median -and $median -le $maximum) -Message "bench ($Label) cycle figures are inconsistent: min $minimum, median $median, max $maximum."
    $perSecond = Get-HvJsonValue -Result $Result -Path 'calls_per_second'
    Add-HvNote -Context $Context -Note ("bench {0}: median {1} cycles (min {2}, max {3}), calls/s {4}" -f $Label, $median, $minimum, $maximum, $perSecond)
}

function Test-HvScenarioBench {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $calls = [string] $Context.BenchCalls
    $live = $Context.State.LiveConnection
    if ($null -ne $live) {
        $fast = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'bench', '-c', $live, '--calls', $calls) -SaveAs 'bench-fast.json'
        $memory = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'bench', '-c', $live, '--calls', $calls, '--memory') -SaveAs 'bench-memory.json'
    }
    else {
        # Without a live connection the calls fail with INVALID_CONNECTION_ID (exit 1); the
        # round trip is still timed, and the note says so.
        Add-HvNote -Context $Context -Note 'bench: no live connection known; timing calls to the unknown connection id instead.'
        $unknown = [string] $Context.UnknownConnectionId
        $fast = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'bench', '-c', $unknown, '--calls', $calls) -AllowedExitCode @(1) -SaveAs 'bench-fast.json'
        $memory = Invoke-HvSignal -Context $Context -ArgumentList @('--json', 'bench', '-c', $unknown, '--calls', $calls, '--memory') -AllowedExitCode @(1) -SaveAs 'bench-memory.json'
    }
    Test-HvBenchDocument -Context $Context -Result $fast -Label 'fast'
    Test-HvBenchDocument -Context $Context -Result $memory -Label 'memory'
}

function Test-HvScenarioNonElevated {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $result = Invoke-HvSignalNonElevated -Context $Context -ArgumentList @('info')
    $text = @(
        "account: $($result.Account)",
        "exit: $($result.ExitCode)",
        '---- whoami /groups', $result.Groups,
        '---- stdout', $result.StdOut,
        '---- stderr', $result.StdErr
    )
    Set-Content -LiteralPath (Join-Path -Path $Context.ResultsDirectory -ChildPath 'non-elevated.txt') -Value $text -Encoding UTF8
    Assert-HvCondition -Condition ($result.Groups -notmatch 'S-1-5-32-544') -Message "The probe account $($result.Account) is in the Administrators group; the scenario would prove nothing."
    Assert-HvCondition -Condition ([int64] $result.ExitCode -eq $script:HvExitEnvironment) -Message ("A standard user's 'hvsignal info' exited with {0}, expected {1} (access denied).`nstdout: {2}`nstderr: {3}" -f
        $result.ExitCode, $script:HvExitEnvironment, $result.StdOut, $result.StdErr)
    Assert-HvCondition -Condition (($result.StdOut + $result.StdErr) -match 'denied') -Message "A standard user's 'hvsignal info' exited with 3 but did not say access was denied: $($result.StdErr)"
}

function Test-HvScenarioReload {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $iterations = @(Invoke-HvGuestFunction -Context $Context -Name 'Invoke-HvReloadCycle' -Parameters @{
            InstanceId  = $Context.DeviceInstanceId
            ServiceName = $Context.Names.ServiceName
            ExePath     = $Context.GuestExePath
            Count       = $Context.ReloadCount
        })
    $lines = @($iterations | ForEach-Object -Process {
            '{0,3}  {1}  {2,6:N2} s  {3}' -f $_.Index, $(if ($_.Passed) { 'ok  ' } else { 'FAIL' }), $_.Seconds, $_.Error
        })
    Set-Content -LiteralPath (Join-Path -Path $Context.ResultsDirectory -ChildPath 'reload.txt') -Value $lines -Encoding UTF8
    $failed = @($iterations | Where-Object -FilterScript { -not $_.Passed })
    if ($failed.Count -gt 0) {
        throw ("Unload/reload {0} of {1} failed: {2}" -f $failed[0].Index, $Context.ReloadCount, $failed[0].Error)
    }
    Assert-HvCondition -Condition ($iterations.Count -eq $Context.ReloadCount) -Message "Only $($iterations.Count) of $($Context.ReloadCount) unload/reload cycles ran."
    $total = ($iterations | Measure-Object -Property Seconds -Sum).Sum
    Add-HvNote -Context $Context -Note ("reload: {0} disable/enable cycles, {1:N1} s in total" -f $iterations.Count, $total)
}

function Test-HvScenarioHealth {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    $facts = Invoke-HvGuestFunction -Context $Context -Name 'Get-HvGuestFacts'
    $evidence = Invoke-HvGuestFunction -Context $Context -Name 'Get-HvCrashEvidence' -Parameters @{ Since = $Context.RunStartedGuest }
    $events = @($evidence.Events | Where-Object -FilterScript { $null -ne $_ })
    $dumps = @($evidence.Dumps | Where-Object -FilterScript { $null -ne $_ })
    $eventText = ($events | ForEach-Object -Process { '{0} id {1} {2}: {3}' -f $_.TimeCreated, $_.Id, $_.ProviderName, $_.Message }) -join "`n"
    Assert-HvCondition -Condition ($events.Count -eq 0) -Message "The guest logged unexpected-restart/bugcheck events during the run:`n$eventText"
    Assert-HvCondition -Condition ($dumps.Count -eq 0) -Message ("The guest wrote crash dumps during the run: " + ($dumps -join ', '))
    $drift = [Math]::Abs(($facts.LastBootUpTime - $Context.BaselineBootTime).TotalSeconds)
    Assert-HvCondition -Condition ($drift -lt 5) -Message "The guest restarted during the run (boot time $($Context.BaselineBootTime) before, $($facts.LastBootUpTime) now)."
    $state = Invoke-HvGuestFunction -Context $Context -Name 'Get-HvDeviceState' -Parameters @{
        InstanceId  = $Context.DeviceInstanceId
        ServiceName = $Context.Names.ServiceName
    }
    Assert-HvCondition -Condition ($state.ProblemCode -eq 0 -and $state.DriverState -eq 'Running') -Message ("The device is not started at the end of the run: problem code {0}, driver state '{1}'." -f $state.ProblemCode, $state.DriverState)
}

function Get-HvSignalScenario {
    <# The scenarios, in run order: Name (dispatch key) and Title (the test's name in the reports). #>
    param(
        [int] $ReloadCount = 20
    )
    return @(
        @{ Name = 'info'; Title = 'info shows a Microsoft hypervisor and the SignalEvents privilege' },
        @{ Name = 'unknown-connection'; Title = 'an unknown connection id gives HV_STATUS_INVALID_CONNECTION_ID with both calling conventions' },
        @{ Name = 'trace'; Title = 'a trace of both providers records the Command and Request events of a known signal with their exact fields' },
        @{ Name = 'raw-invalid-input'; Title = 'rep count, rep start, variable header and reserved control bits give HV_STATUS_INVALID_HYPERCALL_INPUT (raw mode on for this test only)' },
        @{ Name = 'scan-and-signal'; Title = 'a scan over a small range finds a live connection, and signalling it succeeds with both calling conventions' },
        @{ Name = 'conform-tlfs'; Title = 'conform --profile tlfs runs and its report is saved' },
        @{ Name = 'fuzz-tlfs'; Title = 'a bounded fuzz run (seed 42, 4000 calls, profile tlfs) completes; its log and summary are saved' },
        @{ Name = 'bench'; Title = 'bench runs with both calling conventions and its figures are saved' },
        @{ Name = 'non-elevated'; Title = 'a standard (non-elevated) user is refused with exit 3 and access denied' },
        @{ Name = 'reload'; Title = ('the driver unloads and reloads {0} times without a failure' -f $ReloadCount) },
        @{ Name = 'health'; Title = 'the VM is still healthy: no restart, no bugcheck, device started' }
    )
}

function Invoke-HvSignalScenario {
    param(
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [hashtable] $Context
    )
    Write-HvLog -Message "---- scenario $Name"
    switch ($Name) {
        'info' { Test-HvScenarioInfo -Context $Context }
        'unknown-connection' { Test-HvScenarioUnknownConnection -Context $Context }
        'trace' { Test-HvScenarioTrace -Context $Context }
        'raw-invalid-input' { Test-HvScenarioRawInvalidInput -Context $Context }
        'scan-and-signal' { Test-HvScenarioScanAndSignal -Context $Context }
        'conform-tlfs' { Test-HvScenarioConform -Context $Context }
        'fuzz-tlfs' { Test-HvScenarioFuzz -Context $Context }
        'bench' { Test-HvScenarioBench -Context $Context }
        'non-elevated' { Test-HvScenarioNonElevated -Context $Context }
        'reload' { Test-HvScenarioReload -Context $Context }
        'health' { Test-HvScenarioHealth -Context $Context }
        default { throw "Unknown scenario '$Name'." }
    }
}

# ---------------------------------------------------------------------------------------------
# Runners and reports.
# ---------------------------------------------------------------------------------------------

function New-HvTestResult {
    param(
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string] $Title,
        [Parameter(Mandatory = $true)] [ValidateSet('Passed', 'Failed', 'Skipped')] [string] $Outcome,
        [double] $Seconds = 0,
        [AllowEmptyString()] [string] $Message = '',
        [AllowEmptyString()] [string] $Details = ''
    )
    return [pscustomobject]@{
        Name    = $Name
        Title   = $Title
        Outcome = $Outcome
        Seconds = $Seconds
        Message = $Message
        Details = $Details
    }
}

function Test-HvPesterAvailable {
    <# True when Pester 5.3 or later (New-PesterConfiguration, JUnit output) is installed. #>
    $modules = @(Get-Module -ListAvailable -Name Pester | Where-Object -FilterScript { $_.Version -ge [version] '5.3.0' })
    return ($modules.Count -gt 0)
}

function Invoke-HvPlainRunner {
    <# Runs the scenarios without Pester and writes the same JUnit report itself. #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $JUnitPath
    )
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($scenario in (Get-HvSignalScenario -ReloadCount $Context.ReloadCount)) {
        $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
        try {
            Invoke-HvSignalScenario -Name $scenario.Name -Context $Context
            $results.Add((New-HvTestResult -Name $scenario.Name -Title $scenario.Title -Outcome Passed -Seconds $stopwatch.Elapsed.TotalSeconds))
            Write-HvLog -Message "[+] $($scenario.Title)"
        }
        catch {
            $details = ($_ | Out-String) + "`n" + [string] $_.ScriptStackTrace
            $results.Add((New-HvTestResult -Name $scenario.Name -Title $scenario.Title -Outcome Failed -Seconds $stopwatch.Elapsed.TotalSeconds -Message $_.Exception.Message -Details $details))
            Write-HvLog -Level Error -Message "[-] $($scenario.Title): $($_.Exception.Message)"
        }
    }
    Write-HvJUnitReport -Results $results.ToArray() -Path $JUnitPath -SuiteName 'hvsignal-vm'
    return , $results.ToArray()
}

function Invoke-HvPesterRunner {
    <# Runs HvSignal.Tests.ps1 with Pester 5 (JUnit written by Pester) and maps its results. #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [string] $JUnitPath,
        [Parameter(Mandatory = $true)] [string] $TestsPath
    )
    Import-Module -Name Pester -MinimumVersion '5.3.0'
    $container = New-PesterContainer -Path $TestsPath -Data @{ HarnessContext = $Context }
    $configuration = New-PesterConfiguration
    $configuration.Run.Container = $container
    $configuration.Run.PassThru = $true
    $configuration.Run.Exit = $false
    $configuration.Output.Verbosity = 'Detailed'
    $configuration.TestResult.Enabled = $true
    $configuration.TestResult.OutputFormat = 'JUnitXml'
    $configuration.TestResult.OutputPath = $JUnitPath
    if ($null -ne $configuration.TestResult.PSObject.Properties['TestSuiteName']) {
        $configuration.TestResult.TestSuiteName = 'hvsignal-vm'
    }
    $run = Invoke-Pester -Configuration $configuration

    $scenarios = Get-HvSignalScenario -ReloadCount $Context.ReloadCount
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($test in @($run.Tests)) {
        $title = [string] (Get-HvPropertyValue -InputObject $test -Name 'ExpandedName' -Default $test.Name)
        $match = @($scenarios | Where-Object -FilterScript { $_.Title -eq $title })
        $name = $title
        if ($match.Count -eq 1) {
            $name = $match[0].Name
        }
        $message = ''
        $details = ''
        $errors = @(Get-HvPropertyValue -InputObject $test -Name 'ErrorRecord' -Default @())
        if ($errors.Count -gt 0) {
            $message = $errors[0].Exception.Message
            $details = ($errors | Out-String)
        }
        $outcome = 'Skipped'
        if ($test.Result -eq 'Passed') {
            $outcome = 'Passed'
        }
        elseif ($test.Result -eq 'Failed') {
            $outcome = 'Failed'
        }
        elseif ($test.Result -eq 'NotRun') {
            $outcome = 'Failed'
            $message = 'Not run (a setup block of the Pester container failed).'
        }
        $results.Add((New-HvTestResult -Name $name -Title $title -Outcome $outcome -Seconds $test.Duration.TotalSeconds -Message $message -Details $details))
    }
    if ($run.Result -ne 'Passed' -and @($results | Where-Object -FilterScript { $_.Outcome -eq 'Failed' }).Count -eq 0) {
        $results.Add((New-HvTestResult -Name 'pester' -Title 'Pester container' -Outcome Failed -Message "Pester reported '$($run.Result)' (discovery or a setup block failed); see the transcript."))
    }
    if ($results.Count -lt $scenarios.Count) {
        $results.Add((New-HvTestResult -Name 'pester' -Title 'Pester container' -Outcome Failed -Message "Pester ran $($results.Count) tests, the harness has $($scenarios.Count) scenarios."))
    }
    return , $results.ToArray()
}

function ConvertTo-HvXmlText {
    <# Drops characters XML 1.0 cannot carry (tool output can contain control characters). #>
    param(
        [AllowEmptyString()] [AllowNull()] [string] $Text
    )
    if ($null -eq $Text) {
        return ''
    }
    return [regex]::Replace($Text, '[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD]', '?')
}

function Write-HvJUnitReport {
    <# JUnit XML (the layout Pester's JUnitXml output and CI systems read): one suite, one case per scenario. #>
    param(
        [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Results,
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string] $SuiteName
    )
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    $failures = @($Results | Where-Object -FilterScript { $_.Outcome -eq 'Failed' }).Count
    $skipped = @($Results | Where-Object -FilterScript { $_.Outcome -eq 'Skipped' }).Count
    $total = 0.0
    foreach ($result in $Results) {
        $total += $result.Seconds
    }
    $settings = New-Object -TypeName System.Xml.XmlWriterSettings
    $settings.Indent = $true
    $settings.Encoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    $writer = [System.Xml.XmlWriter]::Create($Path, $settings)
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('testsuites')
        $writer.WriteAttributeString('name', $SuiteName)
        $writer.WriteAttributeString('tests', [string] $Results.Count)
        $writer.WriteAttributeString('failures', [string] $failures)
        $writer.WriteAttributeString('errors', '0')
        $writer.WriteAttributeString('time', $total.ToString('0.000', $invariant))
        $writer.WriteStartElement('testsuite')
        $writer.WriteAttributeString('name', $SuiteName)
        $writer.WriteAttributeString('tests', [string] $Results.Count)
        $writer.WriteAttributeString('failures', [string] $failures)
        $writer.WriteAttributeString('errors', '0')
        $writer.WriteAttributeString('skipped', [string] $skipped)
        $writer.WriteAttributeString('time', $total.ToString('0.000', $invariant))
        $writer.WriteAttributeString('timestamp', (Get-Date).ToString('s', $invariant))
        $writer.WriteAttributeString('hostname', [System.Environment]::MachineName)
        foreach ($result in $Results) {
            $writer.WriteStartElement('testcase')
            $writer.WriteAttributeString('name', (ConvertTo-HvXmlText -Text $result.Title))
            $writer.WriteAttributeString('classname', ('{0}.{1}' -f $SuiteName, $result.Name))
            $writer.WriteAttributeString('time', ([double] $result.Seconds).ToString('0.000', $invariant))
            if ($result.Outcome -eq 'Failed') {
                $writer.WriteStartElement('failure')
                $writer.WriteAttributeString('message', (ConvertTo-HvXmlText -Text $result.Message))
                $writer.WriteAttributeString('type', 'HarnessAssertion')
                $writer.WriteString((ConvertTo-HvXmlText -Text $result.Details))
                $writer.WriteEndElement()
            }
            elseif ($result.Outcome -eq 'Skipped') {
                $writer.WriteStartElement('skipped')
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    }
    finally {
        $writer.Dispose()
    }
}

function Write-HvSummary {
    <# The human summary: outcome per scenario, notes, setup facts, and where everything is. #>
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Context,
        [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [object[]] $Results,
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string] $Runner,
        [string[]] $SetupErrors = @()
    )
    $failed = @($Results | Where-Object -FilterScript { $_.Outcome -ne 'Passed' })
    $overall = 'PASSED'
    if ($failed.Count -gt 0 -or $SetupErrors.Count -gt 0 -or $Results.Count -eq 0) {
        $overall = 'FAILED'
    }
    $lines = New-Object -TypeName System.Collections.Generic.List[string]
    $lines.Add(('hvsignal VM test: {0}' -f $overall))
    $lines.Add(('VM {0}, guest {1} (build {2}), runner {3}, {4}' -f $Context.VMName,
            (Get-HvPropertyValue -InputObject $Context -Name 'GuestCaption' -Default '?'),
            (Get-HvPropertyValue -InputObject $Context -Name 'GuestBuild' -Default '?'), $Runner, (Get-Date -Format 's')))
    $lines.Add('')
    foreach ($result in $Results) {
        $mark = 'PASS'
        if ($result.Outcome -eq 'Failed') {
            $mark = 'FAIL'
        }
        elseif ($result.Outcome -eq 'Skipped') {
            $mark = 'SKIP'
        }
        $lines.Add(('[{0}] {1}  ({2:N1} s)' -f $mark, $result.Title, [double] $result.Seconds))
        if ($result.Outcome -eq 'Failed') {
            foreach ($messageLine in ([string] $result.Message).Split("`n")) {
                $lines.Add('       ' + $messageLine.TrimEnd())
            }
        }
    }
    foreach ($setupError in $SetupErrors) {
        $lines.Add(('[FAIL] harness: {0}' -f $setupError))
    }
    $notes = Get-HvPropertyValue -InputObject $Context -Name 'State' -Default $null
    if ($null -ne $notes -and $notes.Notes.Count -gt 0) {
        $lines.Add('')
        $lines.Add('Notes:')
        foreach ($note in $notes.Notes) {
            $lines.Add('  ' + $note)
        }
    }
    $lines.Add('')
    $lines.Add('Files: junit.xml (JUnit), summary.txt (this), harness.log, commands.log (every console-program call with its output),')
    $lines.Add('       info.json, scan.json, signal-*.json, raw-*.json, conform-tlfs.json, fuzz-tlfs.json, fuzz-tlfs-*.log,')
    $lines.Add('       bench-fast.json, bench-memory.json, trace-signal.etl/.xml/.json, trace-run.etl/.xml (ETW, both providers),')
    $lines.Add('       non-elevated.txt, reload.txt, transcript.txt; guest-logs\ (setupapi, PnP state, event logs) after a failure.')
    Set-Content -LiteralPath $Path -Value $lines -Encoding UTF8
    return $overall
}

Export-ModuleMember -Function @(
    'Get-HvSignalNames', 'Set-HvLogPath', 'Write-HvLog', 'Get-HvPropertyValue', 'Connect-HvGuest', 'Get-HvGuestSession',
    'Invoke-HvGuestFunction', 'Restart-HvGuest', 'Invoke-HvSignal', 'Invoke-HvSignalNonElevated', 'Get-HvSignalScenario',
    'Invoke-HvSignalScenario', 'Test-HvPesterAvailable', 'Invoke-HvPlainRunner', 'Invoke-HvPesterRunner',
    'Write-HvJUnitReport', 'Write-HvSummary', 'New-HvTestResult', 'Start-HvTrace', 'Stop-HvTrace'
)
