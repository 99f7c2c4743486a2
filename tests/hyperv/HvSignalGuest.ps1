<#
.SYNOPSIS
    Guest-side helpers of the hvsignal Hyper-V VM harness.

.DESCRIPTION
    This file is copied into the test VM and loaded (read and dot-sourced as a script block, so
    the guest's execution policy does not apply) at the start of every PowerShell Direct call the
    host makes (see Invoke-HvGuestFunction in HvSignalVmTest.psm1). It runs in the guest's Windows
    PowerShell 5.1, elevated (the guest credential is an administrator).

    It holds no project names: the host passes the service name, hardware ID, file names and
    registry paths as parameters, from the single names table in HvSignalVmTest.psm1.

    Every native tool (pnputil, devgen, certutil, bcdedit, verifier, logman, tracerpt, hvsignal) is started through
    Invoke-HvNativeProcess, which captures stdout, stderr and the exit code without letting
    Windows PowerShell 5.1 turn stderr lines into errors.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function ConvertTo-HvCommandLineArgument {
    <# Quotes one argument for CreateProcess the way the Microsoft C runtime splits it. #>
    param(
        [Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Value
    )
    if ($Value.Length -gt 0 -and $Value -notmatch '[\s"]') {
        return $Value
    }
    $builder = New-Object -TypeName System.Text.StringBuilder
    [void] $builder.Append('"')
    $backslashes = 0
    foreach ($character in $Value.ToCharArray()) {
        if ($character -eq '\') {
            $backslashes++
            continue
        }
        if ($character -eq '"') {
            [void] $builder.Append([char] '\', (2 * $backslashes) + 1)
        }
        elseif ($backslashes -gt 0) {
            [void] $builder.Append([char] '\', $backslashes)
        }
        $backslashes = 0
        [void] $builder.Append($character)
    }
    [void] $builder.Append([char] '\', 2 * $backslashes)
    [void] $builder.Append('"')
    return $builder.ToString()
}

function Invoke-HvNativeProcess {
    <# Runs a program, waits for it (with a timeout) and returns its exit code and output. #>
    param(
        [Parameter(Mandatory = $true)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int] $TimeoutSeconds = 600
    )
    $quoted = @($ArgumentList | ForEach-Object -Process { ConvertTo-HvCommandLineArgument -Value ([string] $_) })
    $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $startInfo.FileName = $FilePath
    $startInfo.Arguments = $quoted -join ' '
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.CreateNoWindow = $true
    $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
    $process = [System.Diagnostics.Process]::Start($startInfo)
    try {
        $stdoutTask = $process.StandardOutput.ReadToEndAsync()
        $stderrTask = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill()
            throw "'$FilePath $($startInfo.Arguments)' did not finish within $TimeoutSeconds s and was killed."
        }
        $process.WaitForExit()
        return [pscustomobject]@{
            FilePath        = $FilePath
            Arguments       = $startInfo.Arguments
            ExitCode        = $process.ExitCode
            StdOut          = $stdoutTask.Result
            StdErr          = $stderrTask.Result
            DurationSeconds = $stopwatch.Elapsed.TotalSeconds
        }
    }
    finally {
        $process.Dispose()
    }
}

function Assert-HvExitCode {
    <# Throws with the tool's output when its exit code is not one of the allowed ones. #>
    param(
        [Parameter(Mandatory = $true)] $Result,
        [int[]] $Allowed = @(0),
        [Parameter(Mandatory = $true)] [string] $What
    )
    if ($Allowed -notcontains $Result.ExitCode) {
        throw ("{0} failed: '{1} {2}' exited with {3}.`nstdout:`n{4}`nstderr:`n{5}" -f $What, $Result.FilePath,
            $Result.Arguments, $Result.ExitCode, $Result.StdOut, $Result.StdErr)
    }
}

function Get-HvSystemToolPath {
    <# Full path of a tool in System32 (pnputil, certutil, bcdedit, verifier, shutdown, sc). #>
    param(
        [Parameter(Mandatory = $true)] [string] $Name
    )
    return (Join-Path -Path $env:SystemRoot -ChildPath ('System32\' + $Name))
}

function Invoke-HvSignalCli {
    <# Runs the console program in the guest with an argument list. #>
    param(
        [Parameter(Mandatory = $true)] [string] $ExePath,
        [Parameter(Mandatory = $true)] [string[]] $ArgumentList,
        [int] $TimeoutSeconds = 600
    )
    return Invoke-HvNativeProcess -FilePath $ExePath -ArgumentList $ArgumentList -TimeoutSeconds $TimeoutSeconds
}

function Get-HvGuestFacts {
    <# What the pre-flight and the health check need to know about the guest. #>
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object -TypeName System.Security.Principal.WindowsPrincipal -ArgumentList $identity
    $startOptions = (Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control' -Name 'SystemStartOptions').SystemStartOptions
    $secureBoot = $null
    $secureBootKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecureBoot\State'
    if (Test-Path -Path $secureBootKey) {
        $secureBootItem = Get-ItemProperty -Path $secureBootKey
        if ($null -ne $secureBootItem.PSObject.Properties['UEFISecureBootEnabled']) {
            $secureBoot = ($secureBootItem.UEFISecureBootEnabled -eq 1)
        }
    }
    return [pscustomobject]@{
        ComputerName      = $env:COMPUTERNAME
        Caption           = $os.Caption
        Version           = $os.Version
        BuildNumber       = [int] $os.BuildNumber
        Architecture      = $env:PROCESSOR_ARCHITECTURE
        LastBootUpTime    = $os.LastBootUpTime
        Now               = Get-Date
        IsAdministrator   = $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
        UserName          = $identity.Name
        TestSigning       = ($startOptions -match '\bTESTSIGNING\b')
        SystemStartOptions = $startOptions
        SecureBootEnabled = $secureBoot
        PowerShellVersion = $PSVersionTable.PSVersion.ToString()
    }
}

function Enable-HvTestSigning {
    <# bcdedit /set testsigning on; takes effect at the next boot (Secure Boot must be off). #>
    $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'bcdedit.exe') -ArgumentList @('/set', 'testsigning', 'on')
    Assert-HvExitCode -Result $result -What 'Turning test signing on (Secure Boot must be off)'
    return $result
}

function Request-HvGuestRestart {
    <# Asks Windows to restart in a few seconds, so the PowerShell Direct call can return first. #>
    param(
        [Parameter(Mandatory = $true)] [string] $Reason
    )
    $arguments = @('/r', '/f', '/t', '5', '/d', 'p:2:4', '/c', $Reason)
    $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'shutdown.exe') -ArgumentList $arguments
    Assert-HvExitCode -Result $result -What 'Requesting a restart'
}

function Initialize-HvGuestDirectory {
    <# Creates the harness directory (empty) in the guest. #>
    param(
        [Parameter(Mandatory = $true)] [string] $Path
    )
    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -Recurse -Force
    }
    New-Item -ItemType Directory -Path $Path -Force | Out-Null
    return $Path
}

function Remove-HvGuestDirectory {
    param(
        [Parameter(Mandatory = $true)] [string] $Path
    )
    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -Recurse -Force
    }
}

function Get-HvDevice {
    <# Every device node (present or not) that carries the hardware ID. #>
    param(
        [Parameter(Mandatory = $true)] [string] $HardwareId
    )
    $devices = @(Get-PnpDevice | Where-Object -FilterScript { @($_.HardwareID) -contains $HardwareId })
    return , $devices
}

function Get-HvDeviceState {
    <# Status, problem code, bound service, driver INF and driver (service) state of one device. #>
    param(
        [Parameter(Mandatory = $true)] [string] $InstanceId,
        [Parameter(Mandatory = $true)] [string] $ServiceName
    )
    $device = Get-PnpDevice -InstanceId $InstanceId
    $present = $null
    if ($null -ne $device.PSObject.Properties['Present']) {
        $present = [bool] $device.Present
    }
    $service = (Get-PnpDeviceProperty -InstanceId $InstanceId -KeyName 'DEVPKEY_Device_Service').Data
    $infPath = (Get-PnpDeviceProperty -InstanceId $InstanceId -KeyName 'DEVPKEY_Device_DriverInfPath').Data
    $driver = Get-CimInstance -ClassName Win32_SystemDriver -Filter ("Name = '{0}'" -f $ServiceName)
    $driverState = $null
    if ($null -ne $driver) {
        $driverState = $driver.State
    }
    return [pscustomobject]@{
        InstanceId  = $InstanceId
        Present     = $present
        Status      = [string] $device.Status
        ProblemCode = [int] $device.ConfigManagerErrorCode
        Service     = $service
        InfPath     = $infPath
        DriverState = $driverState
    }
}

function Wait-HvDeviceState {
    <# Waits until the device is Started (problem 0, driver running) or Disabled (problem 22, driver stopped). #>
    param(
        [Parameter(Mandatory = $true)] [string] $InstanceId,
        [Parameter(Mandatory = $true)] [string] $ServiceName,
        [Parameter(Mandatory = $true)] [ValidateSet('Started', 'Disabled')] [string] $State,
        [int] $TimeoutSeconds = 60
    )
    # CM_PROB_DISABLED: the problem code of a device disabled by pnputil /disable-device.
    $problemDisabled = 22
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while ($true) {
        $current = Get-HvDeviceState -InstanceId $InstanceId -ServiceName $ServiceName
        if ($State -eq 'Started' -and $current.ProblemCode -eq 0 -and $current.DriverState -eq 'Running') {
            return $current
        }
        if ($State -eq 'Disabled' -and $current.ProblemCode -eq $problemDisabled -and $current.DriverState -eq 'Stopped') {
            return $current
        }
        if ((Get-Date) -gt $deadline) {
            throw ("Device {0} did not reach {1} within {2} s: status {3}, problem code {4}, service '{5}', driver state '{6}'." -f
                $InstanceId, $State, $TimeoutSeconds, $current.Status, $current.ProblemCode, $current.Service, $current.DriverState)
        }
        Start-Sleep -Milliseconds 250
    }
}

function Get-HvDriverPackage {
    <# Driver-store packages (oemNN.inf) whose original INF file name is the given one. #>
    param(
        [Parameter(Mandatory = $true)] [string] $InfName
    )
    $packages = @(Get-WindowsDriver -Online | Where-Object -FilterScript {
            [System.IO.Path]::GetFileName([string] $_.OriginalFileName) -eq $InfName
        })
    return , $packages
}

function Add-HvTrustedCertificate {
    <# Trusts the test certificate in LocalMachine Root and TrustedPublisher; reports what it added. #>
    param(
        [Parameter(Mandatory = $true)] [string] $CertificatePath
    )
    $certificate = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $CertificatePath
    $added = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($store in @('Root', 'TrustedPublisher')) {
        if (Test-Path -Path ('Cert:\LocalMachine\{0}\{1}' -f $store, $certificate.Thumbprint)) {
            continue
        }
        $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'certutil.exe') -ArgumentList @('-addstore', '-f', $store, $CertificatePath)
        Assert-HvExitCode -Result $result -What "Adding the test certificate to LocalMachine\$store"
        $added.Add($store)
    }
    return [pscustomobject]@{
        Thumbprint   = $certificate.Thumbprint
        SerialNumber = $certificate.SerialNumber
        Subject      = $certificate.Subject
        AddedTo      = $added.ToArray()
    }
}

function Remove-HvTrustedCertificate {
    <# Removes the test certificate from the stores the harness added it to. #>
    param(
        [Parameter(Mandatory = $true)] [string] $SerialNumber,
        [string[]] $Stores = @()
    )
    foreach ($store in $Stores) {
        $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'certutil.exe') -ArgumentList @('-delstore', $store, $SerialNumber)
        Assert-HvExitCode -Result $result -What "Removing the test certificate from LocalMachine\$store"
    }
}

function Install-HvSignalDriver {
    <#
        Creates the root-enumerated device with devgen and installs the driver package on it with
        pnputil; returns the device instance ID and the published INF name (oemNN.inf).
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $InfPath,
        [Parameter(Mandatory = $true)] [string] $DevgenPath,
        [Parameter(Mandatory = $true)] [string] $HardwareId,
        [Parameter(Mandatory = $true)] [string] $ServiceName
    )
    $existing = Get-HvDevice -HardwareId $HardwareId
    if ($existing.Count -gt 0) {
        throw ("A device with hardware ID {0} already exists ({1}); the cleanup of an earlier run did not finish." -f
            $HardwareId, (($existing | ForEach-Object -Process { $_.InstanceId }) -join ', '))
    }

    $devgen = Invoke-HvNativeProcess -FilePath $DevgenPath -ArgumentList @('/add', '/bus', 'ROOT', '/hardwareid', $HardwareId)
    Assert-HvExitCode -Result $devgen -What 'Creating the root-enumerated device with devgen'

    $deadline = (Get-Date).AddSeconds(30)
    $devices = Get-HvDevice -HardwareId $HardwareId
    while ($devices.Count -eq 0) {
        if ((Get-Date) -gt $deadline) {
            throw "devgen reported success but no device with hardware ID $HardwareId appeared.`n$($devgen.StdOut)"
        }
        Start-Sleep -Milliseconds 250
        $devices = Get-HvDevice -HardwareId $HardwareId
    }
    if ($devices.Count -ne 1) {
        throw "Expected exactly one device with hardware ID $HardwareId after devgen, found $($devices.Count)."
    }
    $instanceId = $devices[0].InstanceId

    $pnputil = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'pnputil.exe') -ArgumentList @('/add-driver', $InfPath, '/install')
    if ($pnputil.ExitCode -eq 3010) {
        throw "pnputil installed the driver but asks for a reboot (3010); the driver could not start in place.`n$($pnputil.StdOut)"
    }
    Assert-HvExitCode -Result $pnputil -What 'Installing the driver package with pnputil'

    $state = Wait-HvDeviceState -InstanceId $instanceId -ServiceName $ServiceName -State Started -TimeoutSeconds 60
    if ($state.Service -ne $ServiceName) {
        throw "Device $instanceId is bound to service '$($state.Service)', expected '$ServiceName'."
    }
    return [pscustomobject]@{
        InstanceId    = $instanceId
        PublishedInf  = $state.InfPath
        DevgenOutput  = $devgen.StdOut
        PnputilOutput = $pnputil.StdOut
    }
}

function Remove-HvSignalDriver {
    <# Removes every device with the hardware ID and every store package of the INF; deletes the service. #>
    param(
        [Parameter(Mandatory = $true)] [string] $HardwareId,
        [Parameter(Mandatory = $true)] [string] $InfName,
        [Parameter(Mandatory = $true)] [string] $ServiceName,
        [string] $DevgenPath
    )
    $log = New-Object -TypeName System.Collections.Generic.List[string]
    $rebootNeeded = $false
    $pnputilPath = Get-HvSystemToolPath -Name 'pnputil.exe'
    foreach ($device in (Get-HvDevice -HardwareId $HardwareId)) {
        $result = Invoke-HvNativeProcess -FilePath $pnputilPath -ArgumentList @('/remove-device', $device.InstanceId)
        $log.Add(("pnputil /remove-device {0}: exit {1}" -f $device.InstanceId, $result.ExitCode))
        if ($result.ExitCode -eq 3010) {
            $rebootNeeded = $true
        }
        elseif ($result.ExitCode -ne 0 -and -not [string]::IsNullOrEmpty($DevgenPath) -and (Test-Path -LiteralPath $DevgenPath)) {
            $fallback = Invoke-HvNativeProcess -FilePath $DevgenPath -ArgumentList @('/remove', $device.InstanceId)
            $log.Add(("devgen /remove {0}: exit {1}" -f $device.InstanceId, $fallback.ExitCode))
            Assert-HvExitCode -Result $fallback -What "Removing device $($device.InstanceId)"
        }
        else {
            Assert-HvExitCode -Result $result -Allowed @(0, 3010) -What "Removing device $($device.InstanceId)"
        }
    }
    foreach ($package in (Get-HvDriverPackage -InfName $InfName)) {
        # The published name (oemNN.inf): Get-WindowsDriver calls it Driver (DISM: PublishedName).
        $published = $package.PSObject.Properties['Driver']
        if ($null -eq $published) {
            $published = $package.PSObject.Properties['PublishedName']
        }
        $publishedName = [string] $published.Value
        $result = Invoke-HvNativeProcess -FilePath $pnputilPath -ArgumentList @('/delete-driver', $publishedName, '/uninstall', '/force')
        $log.Add(("pnputil /delete-driver {0} /uninstall /force: exit {1}" -f $publishedName, $result.ExitCode))
        if ($result.ExitCode -eq 3010) {
            $rebootNeeded = $true
        }
        Assert-HvExitCode -Result $result -Allowed @(0, 3010) -What "Deleting driver package $publishedName"
    }
    $service = Get-CimInstance -ClassName Win32_SystemDriver -Filter ("Name = '{0}'" -f $ServiceName)
    if ($null -ne $service) {
        $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'sc.exe') -ArgumentList @('delete', $ServiceName)
        $log.Add(("sc.exe delete {0}: exit {1}" -f $ServiceName, $result.ExitCode))
    }
    # Both helpers return their array as one object (return , $array); wrapping the call in @()
    # would nest it and always count 1.
    $leftDevices = Get-HvDevice -HardwareId $HardwareId
    $leftPackages = Get-HvDriverPackage -InfName $InfName
    if ($leftDevices.Count -gt 0 -or $leftPackages.Count -gt 0) {
        throw ("Cleanup left {0} device(s) and {1} driver package(s) behind.`n{2}" -f $leftDevices.Count, $leftPackages.Count, ($log -join "`n"))
    }
    return [pscustomobject]@{
        Log          = $log.ToArray()
        RebootNeeded = $rebootNeeded
    }
}

function Get-HvRegistryDword {
    <# A DWORD value, or $null when the key or value is absent. #>
    param(
        [Parameter(Mandatory = $true)] [string] $KeyPath,
        [Parameter(Mandatory = $true)] [string] $ValueName
    )
    if (-not (Test-Path -Path $KeyPath)) {
        return $null
    }
    $item = Get-ItemProperty -Path $KeyPath
    if ($null -eq $item.PSObject.Properties[$ValueName]) {
        return $null
    }
    return [int] $item.$ValueName
}

function Set-HvRegistryDword {
    <# Writes a DWORD value (creating the key), or removes the value when Value is $null. #>
    param(
        [Parameter(Mandatory = $true)] [string] $KeyPath,
        [Parameter(Mandatory = $true)] [string] $ValueName,
        [AllowNull()] [object] $Value
    )
    if ($null -eq $Value) {
        if ($null -ne (Get-HvRegistryDword -KeyPath $KeyPath -ValueName $ValueName)) {
            Remove-ItemProperty -Path $KeyPath -Name $ValueName
        }
        return
    }
    if (-not (Test-Path -Path $KeyPath)) {
        New-Item -Path $KeyPath -Force | Out-Null
    }
    New-ItemProperty -Path $KeyPath -Name $ValueName -PropertyType DWord -Value ([int] $Value) -Force | Out-Null
}

function Start-HvTraceSession {
    <#
        Starts an ETW trace session (logman, in-box) that writes every event of the given
        providers, all keywords and levels, to an .etl file. A stale session of the same name (a
        run that was killed) is stopped first. logman start enables one provider; logman update
        adds the others to the running session.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $SessionName,
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string[]] $ProviderGuids
    )
    $logmanPath = Get-HvSystemToolPath -Name 'logman.exe'
    Invoke-HvNativeProcess -FilePath $logmanPath -ArgumentList @('stop', $SessionName, '-ets') | Out-Null
    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -Force
    }
    $everyKeyword = '0xffffffffffffffff'
    $everyLevel = '0xff'
    $start = Invoke-HvNativeProcess -FilePath $logmanPath -ArgumentList @('start', $SessionName, '-p', $ProviderGuids[0], $everyKeyword, $everyLevel, '-o', $Path, '-ets')
    Assert-HvExitCode -Result $start -What "Starting trace session $SessionName"
    foreach ($guid in @($ProviderGuids | Select-Object -Skip 1)) {
        $update = Invoke-HvNativeProcess -FilePath $logmanPath -ArgumentList @('update', 'trace', $SessionName, '-p', $guid, $everyKeyword, $everyLevel, '-ets')
        if ($update.ExitCode -ne 0) {
            Invoke-HvNativeProcess -FilePath $logmanPath -ArgumentList @('stop', $SessionName, '-ets') | Out-Null
            Assert-HvExitCode -Result $update -What "Adding provider $guid to trace session $SessionName"
        }
    }
}

function Stop-HvTraceSession {
    <#
        Stops a trace session started by Start-HvTraceSession and decodes its .etl into XML with
        tracerpt (in-box; TraceLogging events are self-describing, so no manifest is needed).
        Throws when the session could not be stopped or the file not decoded.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $SessionName,
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string] $XmlPath
    )
    $stop = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'logman.exe') -ArgumentList @('stop', $SessionName, '-ets')
    Assert-HvExitCode -Result $stop -What "Stopping trace session $SessionName"
    $decode = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'tracerpt.exe') -ArgumentList @($Path, '-o', $XmlPath, '-of', 'XML', '-y')
    Assert-HvExitCode -Result $decode -What "Decoding $Path"
}

function Restart-HvSignalDevice {
    <#
        Disables and re-enables the device with pnputil. Disabling the only device of a PnP driver
        removes its device stack and unloads the driver (the service state goes to Stopped), so
        enabling it runs DriverEntry again - which is when the driver reads its registry policy.
        (sc.exe stop does not apply: PnP drivers do not accept SERVICE_CONTROL_STOP.)
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $InstanceId,
        [Parameter(Mandatory = $true)] [string] $ServiceName,
        [int] $TimeoutSeconds = 60
    )
    $pnputilPath = Get-HvSystemToolPath -Name 'pnputil.exe'
    $disable = Invoke-HvNativeProcess -FilePath $pnputilPath -ArgumentList @('/disable-device', $InstanceId)
    Assert-HvExitCode -Result $disable -What "Disabling device $InstanceId (3010 would mean the driver could not unload)"
    $disabled = Wait-HvDeviceState -InstanceId $InstanceId -ServiceName $ServiceName -State Disabled -TimeoutSeconds $TimeoutSeconds
    $enable = Invoke-HvNativeProcess -FilePath $pnputilPath -ArgumentList @('/enable-device', $InstanceId)
    Assert-HvExitCode -Result $enable -What "Enabling device $InstanceId"
    $started = Wait-HvDeviceState -InstanceId $InstanceId -ServiceName $ServiceName -State Started -TimeoutSeconds $TimeoutSeconds
    return [pscustomobject]@{
        DisabledState = $disabled
        StartedState  = $started
    }
}

function Invoke-HvReloadCycle {
    <# Unloads and reloads the driver Count times; after each reload the console program must answer info. #>
    param(
        [Parameter(Mandatory = $true)] [string] $InstanceId,
        [Parameter(Mandatory = $true)] [string] $ServiceName,
        [Parameter(Mandatory = $true)] [string] $ExePath,
        [int] $Count = 20
    )
    $iterations = New-Object -TypeName System.Collections.Generic.List[object]
    for ($index = 1; $index -le $Count; $index++) {
        $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
        $record = [ordered]@{ Index = $index; Passed = $false; Seconds = 0.0; Error = $null }
        try {
            Restart-HvSignalDevice -InstanceId $InstanceId -ServiceName $ServiceName | Out-Null
            $info = Invoke-HvSignalCli -ExePath $ExePath -ArgumentList @('--json', 'info')
            if ($info.ExitCode -ne 0) {
                throw "hvsignal info exited with $($info.ExitCode) after reload: $($info.StdErr)"
            }
            $record.Passed = $true
        }
        catch {
            $record.Error = $_.Exception.Message
        }
        $record.Seconds = $stopwatch.Elapsed.TotalSeconds
        $iterations.Add([pscustomobject] $record)
        if (-not $record.Passed) {
            break
        }
    }
    # Written one record at a time: the host collects them with @() across the session.
    return $iterations.ToArray()
}

function New-HvRandomPassword {
    <# A throw-away password that satisfies the default complexity rules. #>
    $bytes = New-Object -TypeName 'byte[]' -ArgumentList 18
    $generator = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    try {
        $generator.GetBytes($bytes)
    }
    finally {
        $generator.Dispose()
    }
    return ('Hv' + [System.Convert]::ToBase64String($bytes).Replace('/', 'x').Replace('+', 'y') + '7!')
}

function Remove-HvLocalUser {
    <# Removes a local user and its profile, if present. #>
    param(
        [Parameter(Mandatory = $true)] [string] $UserName
    )
    $user = Get-LocalUser | Where-Object -FilterScript { $_.Name -eq $UserName }
    if ($null -eq $user) {
        return
    }
    $sid = $user.SID.Value
    Remove-LocalUser -Name $UserName
    # The batch logon of the scheduled task can keep the profile loaded for a few seconds after
    # the task has finished; deleting a loaded profile fails, so retry for a while.
    $deadline = (Get-Date).AddSeconds(60)
    while ($true) {
        $profiles = @(Get-CimInstance -ClassName Win32_UserProfile | Where-Object -FilterScript { $_.SID -eq $sid })
        if ($profiles.Count -eq 0) {
            return
        }
        try {
            $profiles | Remove-CimInstance
            return
        }
        catch {
            if ((Get-Date) -gt $deadline) {
                throw
            }
            Start-Sleep -Seconds 2
        }
    }
}

function Invoke-HvSignalAsStandardUser {
    <#
        Runs the console program as a standard (non-administrator) local user created for the
        purpose, through a scheduled task with a stored password, and removes user, profile and
        task afterwards.

        Why a scheduled task: over PowerShell Direct the session belongs to the administrator
        credential, and Start-Process -Credential relies on the secondary logon service from a
        non-interactive session, which is refused there. The Task Scheduler logs the user on as a
        batch job (it grants that right to the account when the task is registered with its
        password) and starts the program with that user's own, non-elevated token.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $ExePath,
        [Parameter(Mandatory = $true)] [string[]] $ArgumentList,
        [Parameter(Mandatory = $true)] [string] $WorkDirectory,
        [string] $UserName = 'hvsig_std',
        [string] $TaskName = 'HvSignalStandardUserProbe',
        [int] $TimeoutSeconds = 120
    )
    # Task Scheduler LastTaskResult values: SCHED_S_TASK_RUNNING and SCHED_S_TASK_HAS_NOT_RUN
    # (not finished yet), and ERROR_LOGON_TYPE_NOT_GRANTED as an HRESULT (0x80070569, the account
    # lacks "Log on as a batch job").
    $taskStillRunning = 267009
    $taskHasNotRun = 267011
    $taskLogonTypeNotGranted = 2147943785
    foreach ($argument in $ArgumentList) {
        if ($argument -notmatch '^[A-Za-z0-9._:-]+$') {
            throw "Argument '$argument' cannot be passed safely through a batch file."
        }
    }
    $outputDirectory = Join-Path -Path $WorkDirectory -ChildPath 'standard-user'
    $stdoutPath = Join-Path -Path $outputDirectory -ChildPath 'stdout.txt'
    $stderrPath = Join-Path -Path $outputDirectory -ChildPath 'stderr.txt'
    $groupsPath = Join-Path -Path $outputDirectory -ChildPath 'groups.txt'
    $batchPath = Join-Path -Path $outputDirectory -ChildPath 'probe.cmd'

    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
    Remove-HvLocalUser -UserName $UserName
    if (Test-Path -LiteralPath $outputDirectory) {
        Remove-Item -LiteralPath $outputDirectory -Recurse -Force
    }
    New-Item -ItemType Directory -Path $outputDirectory -Force | Out-Null

    $password = New-HvRandomPassword
    try {
        $securePassword = ConvertTo-SecureString -String $password -AsPlainText -Force
        New-LocalUser -Name $UserName -Password $securePassword -AccountNeverExpires -PasswordNeverExpires -Description 'hvsignal VM harness: non-elevated caller probe (removed after the run)' | Out-Null
        # Plain member of Users only. (Get-LocalGroupMember is avoided: it fails on groups that
        # hold unresolvable members.)
        $usersGroup = Get-LocalGroup -SID 'S-1-5-32-545'
        try {
            Add-LocalGroupMember -Group $usersGroup -Member $UserName
        }
        catch {
            if ($_.FullyQualifiedErrorId -notlike 'MemberExists*') {
                throw
            }
        }

        $acl = Get-Acl -Path $outputDirectory
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @(
            $UserName, 'Modify', 'ContainerInherit,ObjectInherit', 'None', 'Allow')
        $acl.AddAccessRule($rule)
        Set-Acl -Path $outputDirectory -AclObject $acl

        $batch = @(
            '@echo off',
            ('whoami /groups > "{0}"' -f $groupsPath),
            ('"{0}" {1} > "{2}" 2> "{3}"' -f $ExePath, ($ArgumentList -join ' '), $stdoutPath, $stderrPath),
            'exit /b %ERRORLEVEL%'
        )
        Set-Content -LiteralPath $batchPath -Value $batch -Encoding Ascii

        $action = New-ScheduledTaskAction -Execute (Join-Path -Path $env:SystemRoot -ChildPath 'System32\cmd.exe') -Argument ('/d /c "{0}"' -f $batchPath)
        $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit (New-TimeSpan -Minutes 5) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
        $account = '{0}\{1}' -f $env:COMPUTERNAME, $UserName
        Register-ScheduledTask -TaskName $TaskName -Action $action -Settings $settings -User $account -Password $password -RunLevel Limited -Force | Out-Null
        Start-ScheduledTask -TaskName $TaskName

        $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
        while ($true) {
            Start-Sleep -Milliseconds 500
            $task = Get-ScheduledTask -TaskName $TaskName
            $info = Get-ScheduledTaskInfo -TaskName $TaskName
            $finished = ([string] $task.State -ne 'Running') -and ([string] $task.State -ne 'Queued') -and
                ($info.LastTaskResult -ne $taskStillRunning) -and ($info.LastTaskResult -ne $taskHasNotRun)
            if ($finished) {
                break
            }
            if ((Get-Date) -gt $deadline) {
                throw "The standard-user task did not finish within $TimeoutSeconds s (state $($task.State), last result $($info.LastTaskResult))."
            }
        }
        $exitCode = [int64] $info.LastTaskResult
        if ($exitCode -eq $taskLogonTypeNotGranted) {
            throw ("The Task Scheduler could not log '{0}' on as a batch job (0x80070569). A policy that defines " +
                "'Log on as a batch job' overrides the right the Task Scheduler grants; allow the Users group or " +
                "run the harness in a VM without that policy.") -f $account
        }
        if (-not (Test-Path -LiteralPath $stderrPath)) {
            throw "The standard-user task finished with result $exitCode but never ran the console program (no $stderrPath)."
        }
        return [pscustomobject]@{
            Account  = $account
            ExitCode = $exitCode
            StdOut   = [System.IO.File]::ReadAllText($stdoutPath)
            StdErr   = [System.IO.File]::ReadAllText($stderrPath)
            Groups   = [System.IO.File]::ReadAllText($groupsPath)
        }
    }
    finally {
        Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
        Remove-HvLocalUser -UserName $UserName
    }
}

function Enable-HvDriverVerifier {
    <# Driver Verifier (standard settings) on the driver and the KMDF runtime, plus the KMDF verifier; needs a reboot. #>
    param(
        [Parameter(Mandatory = $true)] [string[]] $DriverNames,
        [Parameter(Mandatory = $true)] [string] $WdfParametersKey
    )
    Set-HvRegistryDword -KeyPath $WdfParametersKey -ValueName 'VerifierOn' -Value 1
    Set-HvRegistryDword -KeyPath $WdfParametersKey -ValueName 'VerboseOn' -Value 1
    $arguments = @('/standard', '/driver') + $DriverNames
    $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'verifier.exe') -ArgumentList $arguments
    # verifier.exe exits with 2 when the new settings need a reboot, which they always do here.
    Assert-HvExitCode -Result $result -Allowed @(0, 2) -What 'Enabling Driver Verifier'
    return $result.StdOut
}

function Get-HvDriverVerifierState {
    <# verifier /querysettings output, and whether every given driver is listed in it. #>
    param(
        [Parameter(Mandatory = $true)] [string[]] $DriverNames
    )
    $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'verifier.exe') -ArgumentList @('/querysettings')
    $missing = @($DriverNames | Where-Object -FilterScript { $result.StdOut -notmatch [regex]::Escape($_) })
    return [pscustomobject]@{
        Output  = $result.StdOut
        Missing = $missing
    }
}

function Reset-HvDriverVerifier {
    <# verifier /reset and the KMDF verifier values off again (effective at the next boot). #>
    param(
        [Parameter(Mandatory = $true)] [string] $WdfParametersKey
    )
    Set-HvRegistryDword -KeyPath $WdfParametersKey -ValueName 'VerifierOn' -Value $null
    Set-HvRegistryDword -KeyPath $WdfParametersKey -ValueName 'VerboseOn' -Value $null
    $result = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'verifier.exe') -ArgumentList @('/reset')
    Assert-HvExitCode -Result $result -Allowed @(0, 2) -What 'Resetting Driver Verifier'
}

function Get-HvCrashEvidence {
    <# Unexpected-restart and bugcheck events, and new crash dumps, since a point in (guest) time. #>
    param(
        [Parameter(Mandatory = $true)] [datetime] $Since
    )
    $providers = @('Microsoft-Windows-Kernel-Power', 'Microsoft-Windows-WER-SystemErrorReporting', 'EventLog')
    $events = @()
    try {
        $events = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; Id = @(41, 1001, 6008); StartTime = $Since } |
                Where-Object -FilterScript { $providers -contains $_.ProviderName } |
                ForEach-Object -Process {
                    [pscustomobject]@{
                        TimeCreated  = $_.TimeCreated
                        Id           = $_.Id
                        ProviderName = $_.ProviderName
                        Message      = ([string] $_.Message).Split("`n")[0].Trim()
                    }
                })
    }
    catch {
        if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') {
            throw
        }
    }
    $dumps = @()
    foreach ($pattern in @((Join-Path -Path $env:SystemRoot -ChildPath 'Minidump\*.dmp'), (Join-Path -Path $env:SystemRoot -ChildPath 'MEMORY.DMP'))) {
        $dumps += @(Get-ChildItem -Path $pattern -ErrorAction SilentlyContinue |
                Where-Object -FilterScript { $_.LastWriteTime -ge $Since } |
                ForEach-Object -Process { $_.FullName })
    }
    return [pscustomobject]@{
        Events = $events
        Dumps  = $dumps
    }
}

function Export-HvDiagnostics {
    <# Collects setupapi logs, PnP state and the System log since the run started into a directory. #>
    param(
        [Parameter(Mandatory = $true)] [string] $Destination,
        [Parameter(Mandatory = $true)] [datetime] $Since,
        [Parameter(Mandatory = $true)] [string] $HardwareId,
        [Parameter(Mandatory = $true)] [string] $InfName
    )
    if (-not (Test-Path -LiteralPath $Destination)) {
        New-Item -ItemType Directory -Path $Destination -Force | Out-Null
    }
    foreach ($name in @('setupapi.dev.log', 'setupapi.app.log')) {
        $source = Join-Path -Path $env:SystemRoot -ChildPath ('INF\' + $name)
        if (Test-Path -LiteralPath $source) {
            Copy-Item -LiteralPath $source -Destination (Join-Path -Path $Destination -ChildPath $name) -Force
        }
    }
    $pnputilPath = Get-HvSystemToolPath -Name 'pnputil.exe'
    $lines = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($device in (Get-HvDevice -HardwareId $HardwareId)) {
        $result = Invoke-HvNativeProcess -FilePath $pnputilPath -ArgumentList @('/enum-devices', '/instanceid', $device.InstanceId, '/drivers')
        $lines.Add($result.StdOut)
    }
    $lines.Add((Invoke-HvNativeProcess -FilePath $pnputilPath -ArgumentList @('/enum-drivers')).StdOut)
    $lines.Add(((Get-HvDriverPackage -InfName $InfName) | Format-List -Property * | Out-String))
    Set-Content -LiteralPath (Join-Path -Path $Destination -ChildPath 'pnp-state.txt') -Value $lines -Encoding UTF8

    $logNames = @('System', 'Microsoft-Windows-Kernel-PnP/Configuration')
    foreach ($logName in $logNames) {
        $fileName = ($logName -replace '[\\/]', '-') + '.txt'
        $text = ''
        try {
            $text = Get-WinEvent -FilterHashtable @{ LogName = $logName; StartTime = $Since } |
                Select-Object -Property TimeCreated, Id, ProviderName, LevelDisplayName, Message |
                Format-List | Out-String -Width 200
        }
        catch {
            $text = "No events collected: $($_.Exception.Message)"
        }
        Set-Content -LiteralPath (Join-Path -Path $Destination -ChildPath $fileName) -Value $text -Encoding UTF8
    }
    $verifier = Invoke-HvNativeProcess -FilePath (Get-HvSystemToolPath -Name 'verifier.exe') -ArgumentList @('/querysettings')
    Set-Content -LiteralPath (Join-Path -Path $Destination -ChildPath 'verifier-settings.txt') -Value $verifier.StdOut -Encoding UTF8
    $dumps = @(Get-ChildItem -Path (Join-Path -Path $env:SystemRoot -ChildPath 'Minidump') -Filter '*.dmp' -ErrorAction SilentlyContinue |
            Where-Object -FilterScript { $_.LastWriteTime -ge $Since })
    foreach ($dump in $dumps) {
        Copy-Item -LiteralPath $dump.FullName -Destination $Destination -Force
    }
    return $Destination
}
