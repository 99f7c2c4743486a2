<#
.SYNOPSIS
    Builds the hvsignal driver and stages a test-signed driver package.

.DESCRIPTION
    Run by `cargo make package` on a Windows host with the Windows Driver Kit (WDK) or an
    Enterprise WDK (EWDK) prompt, LLVM 17.0.6 and the MSVC build tools.

    The INF template lives in inf/, not at the crate root where the upstream windows-drivers-rs
    makefile looks for it, so this script stages the package itself:

      1. cargo build of the driver (hvsignal-driver) and the console program (hvsignal);
      2. copy hvsignal_driver.dll as hvsignal_driver.sys, its .pdb, the INF template as
         hvsignal_driver.inf and hvsignal.exe into target\<profile>\hvsignal_package\;
      3. stampinf (DriverVer from the crate version, amd64, KMDF version from the Cargo metadata
         [package.metadata.wdk.driver-model]);
      4. test-sign hvsignal_driver.sys, inf2cat, test-sign hvsignal_driver.cat, with a local
         self-signed code-signing certificate and no network timestamp; the certificate is
         exported into the package as hvsignal_test.cer;
      5. infverif /w (Windows driver rules).

    The WDK tools are found the way wdk-build finds the WDK: WDKContentRoot (EWDK, NuGet), else
    MicrosoftKitRoot, else the Windows Kits registry root; the newest 10.* version below it unless
    Version_Number names one; WDKBinRoot and WDKToolRoot override the bin and tools folders.

.PARAMETER CargoProfile
    Cargo profile to build: release (default) or dev.

.EXAMPLE
    cargo make package
.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File tools\package.ps1 -CargoProfile dev
#>
[CmdletBinding()]
param(
    [ValidateSet('release', 'dev')]
    [string] $CargoProfile = 'release'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$RepoRoot = Split-Path -Parent $PSScriptRoot
$DriverPackageName = 'hvsignal-driver'
$ConsolePackageName = 'hvsignal'
$TestCertificateSubject = 'CN=hvsignal local test signing'
$TestCertificateFile = 'hvsignal_test.cer'
$TargetArchitecture = 'amd64'
$Inf2CatOs = '10_x64'

function Write-Step {
    param([Parameter(Mandatory = $true)] [string] $Message)
    Write-Host "==> $Message"
}

function Invoke-Tool {
    <#
        Runs an external program, shows its output and stops when its exit code is not 0.
        Windows PowerShell 5.1 turns a native program's stderr lines into error records when its
        own output is redirected (CI, cargo-make); with 'Stop' the first warning would end the
        script. The exit code is what decides success, so the call runs with 'Continue' and the
        lines are printed as text.
    #>
    param(
        [Parameter(Mandatory = $true)] [string] $FilePath,
        [string[]] $ArgumentList = @()
    )
    Write-Host ('    ' + $FilePath + ' ' + ($ArgumentList -join ' '))
    $previousPreference = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        & $FilePath @ArgumentList 2>&1 | ForEach-Object { Write-Host ([string] $_) }
        $exitCode = $LASTEXITCODE
    }
    finally {
        $ErrorActionPreference = $previousPreference
    }
    if ($exitCode -ne 0) {
        throw "$(Split-Path -Leaf $FilePath) failed with exit code $exitCode."
    }
}

function Get-NewestVersionDirectory {
    <# The 10.* subdirectory of $Path with the highest version, or $null. #>
    param([Parameter(Mandatory = $true)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
        return $null
    }
    $candidates = @(Get-ChildItem -LiteralPath $Path -Directory |
        Where-Object { $_.Name -like '10.*' } |
        Where-Object { $null -ne ($_.Name -as [version]) } |
        Sort-Object -Property @{ Expression = { [version] $_.Name } } -Descending)
    if ($candidates.Count -eq 0) {
        return $null
    }
    return $candidates[0].Name
}

function Get-RegistryKitsRoot {
    foreach ($key in @(
            'HKLM:\SOFTWARE\Microsoft\Windows Kits\Installed Roots',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows Kits\Installed Roots')) {
        $item = Get-ItemProperty -LiteralPath $key -Name 'KitsRoot10' -ErrorAction SilentlyContinue
        if ($null -ne $item -and -not [string]::IsNullOrEmpty($item.KitsRoot10)) {
            return $item.KitsRoot10
        }
    }
    return $null
}

function Get-WdkContentRoot {
    if (-not [string]::IsNullOrEmpty($env:WDKContentRoot)) {
        if (Test-Path -LiteralPath $env:WDKContentRoot -PathType Container) {
            return $env:WDKContentRoot
        }
        Write-Warning "WDKContentRoot is '$env:WDKContentRoot', which is not a directory; ignoring it."
    }
    if (-not [string]::IsNullOrEmpty($env:MicrosoftKitRoot)) {
        $kitVersion = '10.0'
        if (-not [string]::IsNullOrEmpty($env:WDKKitVersion)) {
            $kitVersion = $env:WDKKitVersion
        }
        $candidate = Join-Path (Join-Path $env:MicrosoftKitRoot 'Windows Kits') $kitVersion
        if (Test-Path -LiteralPath $candidate -PathType Container) {
            return $candidate
        }
    }
    $registryRoot = Get-RegistryKitsRoot
    if ($null -ne $registryRoot -and (Test-Path -LiteralPath $registryRoot -PathType Container)) {
        return $registryRoot
    }
    throw ('The Windows Driver Kit was not found: WDKContentRoot is not set and no Windows Kits ' +
        'root is registered under HKLM\SOFTWARE\Microsoft\Windows Kits\Installed Roots. Install ' +
        'the WDK (with the matching Windows SDK), or run from an EWDK prompt (LaunchBuildEnv.cmd).')
}

function Get-WdkToolDirectories {
    <# The folders that hold stampinf, inf2cat, infverif and signtool, best first. #>
    $contentRoot = Get-WdkContentRoot
    $version = $env:Version_Number
    if ([string]::IsNullOrEmpty($version)) {
        $version = Get-NewestVersionDirectory -Path (Join-Path $contentRoot 'Lib')
    }
    if ([string]::IsNullOrEmpty($version)) {
        $version = Get-NewestVersionDirectory -Path (Join-Path $contentRoot 'bin')
    }
    if ([string]::IsNullOrEmpty($version)) {
        throw "No 10.* kit version was found below '$contentRoot\Lib' or '$contentRoot\bin'."
    }
    $binRoot = Join-Path (Join-Path $contentRoot 'bin') $version
    if (-not [string]::IsNullOrEmpty($env:WDKBinRoot)) {
        $binRoot = $env:WDKBinRoot
    }
    $toolRoot = Join-Path (Join-Path $contentRoot 'Tools') $version
    if (-not [string]::IsNullOrEmpty($env:WDKToolRoot)) {
        $toolRoot = $env:WDKToolRoot
    }
    $directories = @(
        (Join-Path $binRoot 'x64'),
        (Join-Path $binRoot 'x86'),
        (Join-Path $toolRoot 'x64'))
    if (-not [string]::IsNullOrEmpty($env:WindowsSdkBinPath)) {
        $directories += Join-Path (Join-Path $env:WindowsSdkBinPath $version) 'x64'
        $directories += Join-Path (Join-Path $env:WindowsSdkBinPath $version) 'x86'
    }
    Write-Host "    WDK: $contentRoot (version $version)"
    return $directories
}

function Find-WdkTool {
    <# The full path of a WDK tool; a clear error when it is missing. #>
    param(
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string[]] $Directories,
        [switch] $Optional
    )
    foreach ($directory in $Directories) {
        $candidate = Join-Path $directory $Name
        if (Test-Path -LiteralPath $candidate -PathType Leaf) {
            return $candidate
        }
    }
    $onPath = Get-Command -Name $Name -CommandType Application -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if ($null -ne $onPath) {
        return $onPath.Path
    }
    if ($Optional) {
        return $null
    }
    throw ("$Name was not found in the WDK (looked in: " + ($Directories -join '; ') +
        ', and on PATH). Install the Windows Driver Kit, or run from an EWDK prompt.')
}

function Get-DriverMetadata {
    <# Name, version, KMDF version and target directory from `cargo metadata`. #>
    $previousPreference = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $output = @(& cargo metadata --format-version 1 --no-deps --locked --manifest-path (Join-Path $RepoRoot 'Cargo.toml') 2>&1)
        $exitCode = $LASTEXITCODE
    }
    finally {
        $ErrorActionPreference = $previousPreference
    }
    $stdout = @($output | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
    $stderr = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    if ($exitCode -ne 0) {
        $stderr | ForEach-Object { Write-Host ([string] $_) }
        throw "cargo metadata failed with exit code $exitCode (is cargo on PATH?)."
    }
    $metadata = ($stdout -join "`n") | ConvertFrom-Json
    $package = @($metadata.packages | Where-Object { $_.name -eq $DriverPackageName })
    if ($package.Count -ne 1) {
        throw "The workspace has no package named $DriverPackageName."
    }
    $model = $package[0].metadata.wdk.'driver-model'
    if ($model.'driver-type' -ne 'KMDF') {
        throw "[package.metadata.wdk.driver-model] driver-type is '$($model.'driver-type')', expected KMDF."
    }
    return [pscustomobject]@{
        Stem            = $DriverPackageName.Replace('-', '_')
        Version         = $package[0].version
        KmdfVersion     = "$($model.'kmdf-version-major').$($model.'target-kmdf-version-minor')"
        TargetDirectory = $metadata.target_directory
    }
}

function Get-TestCertificate {
    <# The local test-signing certificate in CurrentUser\My, created on first use. #>
    $now = Get-Date
    $existing = @(Get-ChildItem -Path 'Cert:\CurrentUser\My' -CodeSigningCert |
        Where-Object { $_.Subject -eq $TestCertificateSubject -and $_.NotAfter -gt $now.AddDays(7) -and $_.HasPrivateKey } |
        Sort-Object -Property NotAfter -Descending)
    if ($existing.Count -gt 0) {
        return $existing[0]
    }
    Write-Host "    creating the test certificate '$TestCertificateSubject' in Cert:\CurrentUser\My"
    return New-SelfSignedCertificate -Type CodeSigningCert -Subject $TestCertificateSubject `
        -CertStoreLocation 'Cert:\CurrentUser\My' -HashAlgorithm SHA256 -KeyUsage DigitalSignature `
        -NotAfter $now.AddYears(2)
}

if ([System.Environment]::OSVersion.Platform -ne [System.PlatformID]::Win32NT) {
    throw 'Packaging the driver needs a Windows host with the WDK; on other hosts run `cargo make test`.'
}
if (-not [string]::IsNullOrEmpty($env:RUSTFLAGS) -and $env:RUSTFLAGS -notlike '*crt-static*') {
    throw ('RUSTFLAGS is set and replaces the rustflags of .cargo\config.toml, which the driver ' +
        'needs (-C target-feature=+crt-static). Unset RUSTFLAGS or add that flag to it.')
}

$meta = Get-DriverMetadata
$profileDirectory = if ($CargoProfile -eq 'dev') { 'debug' } else { $CargoProfile }
$outputDirectory = Join-Path $meta.TargetDirectory $profileDirectory
$packageDirectory = Join-Path $outputDirectory 'hvsignal_package'
$infTemplate = Join-Path (Join-Path $RepoRoot 'inf') "$($meta.Stem).inx"
$driverVersion = "$($meta.Version).0"

Write-Step 'Locating the WDK tools'
$toolDirectories = Get-WdkToolDirectories
$stampinf = Find-WdkTool -Name 'stampinf.exe' -Directories $toolDirectories
$inf2cat = Find-WdkTool -Name 'inf2cat.exe' -Directories $toolDirectories
$infverif = Find-WdkTool -Name 'infverif.exe' -Directories $toolDirectories
$signtool = Find-WdkTool -Name 'signtool.exe' -Directories $toolDirectories

Write-Step "Building $DriverPackageName and $ConsolePackageName ($CargoProfile)"
Push-Location -LiteralPath $RepoRoot
try {
    # Two invocations: one build of both would unify the driver's tracelogging `kernel_mode`
    # feature into the console program, which then links kernel ETW (docs/WINDOWS.md, Tracing).
    foreach ($package in $DriverPackageName, $ConsolePackageName) {
        Invoke-Tool -FilePath 'cargo' -ArgumentList @('build', '--locked', '--profile', $CargoProfile,
            '-p', $package)
    }
}
finally {
    Pop-Location
}

Write-Step "Staging $packageDirectory"
if (Test-Path -LiteralPath $packageDirectory) {
    Remove-Item -LiteralPath $packageDirectory -Recurse -Force
}
New-Item -ItemType Directory -Path $packageDirectory | Out-Null
$sys = Join-Path $packageDirectory "$($meta.Stem).sys"
$inf = Join-Path $packageDirectory "$($meta.Stem).inf"
$cat = Join-Path $packageDirectory "$($meta.Stem).cat"
Copy-Item -LiteralPath (Join-Path $outputDirectory "$($meta.Stem).dll") -Destination $sys
Copy-Item -LiteralPath (Join-Path $outputDirectory "$($meta.Stem).pdb") -Destination $packageDirectory
Copy-Item -LiteralPath $infTemplate -Destination $inf
Copy-Item -LiteralPath (Join-Path $outputDirectory "$ConsolePackageName.exe") -Destination $packageDirectory
# No WDK tool is staged: devgen.exe, which creates the root-enumerated device, is Microsoft's and
# may not be redistributed. Users take it from their own WDK (docs\WINDOWS.md); the VM harness
# copies it from the host's WDK into the guest at test time.

Write-Step "stampinf (KMDF $($meta.KmdfVersion), $TargetArchitecture, version $driverVersion)"
Invoke-Tool -FilePath $stampinf -ArgumentList @('-f', $inf, '-d', '*', '-a', $TargetArchitecture,
    '-c', "$($meta.Stem).cat", '-v', $driverVersion, '-k', $meta.KmdfVersion)

Write-Step 'Test-signing (local certificate, no timestamp server)'
$certificate = Get-TestCertificate
Export-Certificate -Cert $certificate -FilePath (Join-Path $packageDirectory $TestCertificateFile) -Type CERT | Out-Null
$signArguments = @('sign', '/v', '/fd', 'SHA256', '/s', 'My', '/sha1', $certificate.Thumbprint)
Invoke-Tool -FilePath $signtool -ArgumentList ($signArguments + @($sys))

Write-Step "inf2cat ($Inf2CatOs)"
Invoke-Tool -FilePath $inf2cat -ArgumentList @("/driver:$packageDirectory", "/os:$Inf2CatOs", '/uselocaltime')
Invoke-Tool -FilePath $signtool -ArgumentList ($signArguments + @($cat))

Write-Step 'infverif /w'
Invoke-Tool -FilePath $infverif -ArgumentList @('/v', '/w', $inf)

Write-Step 'Done'
Get-ChildItem -LiteralPath $packageDirectory | Format-Table -Property Name, Length -AutoSize | Out-String | Write-Host
Write-Host "Package: $packageDirectory"
Write-Host 'Install it in a test-signing guest as docs\WINDOWS.md describes.'
