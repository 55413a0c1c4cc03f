# The Windows installer, tried for real (CI's Windows job): silent install into a temporary folder,
# the installed app's --self-test, then a silent uninstall that must remove what it installed.
#   powershell -File packaging\windows\smoke-test.ps1 -Dist dist
param([string]$Dist = "dist")
$ErrorActionPreference = "Stop"

$setup = Get-ChildItem (Join-Path $Dist "LoRA-Studio-Setup-*.exe") | Select-Object -First 1
if (-not $setup) { throw "no LoRA-Studio-Setup-*.exe in $Dist" }
$temp = if ($env:RUNNER_TEMP) { $env:RUNNER_TEMP } else { $env:TEMP }
$target = Join-Path $temp "LoRA Studio smoke test"
$startMenu = Join-Path $env:APPDATA "Microsoft\Windows\Start Menu\Programs\LoRA Studio.lnk"
$uninstallKey = "HKCU:\Software\Microsoft\Windows\CurrentVersion\Uninstall\LoRA Studio"

Write-Host "installing $($setup.Name) into $target"
# /D= must come last and unquoted, even with spaces (NSIS reads the rest of the line)
$install = Start-Process -FilePath $setup.FullName -ArgumentList "/S", "/D=$target" -Wait -PassThru
if ($install.ExitCode -ne 0) { throw "the installer exited with $($install.ExitCode)" }
foreach ($name in "LoRA Studio.exe", "lora-studio.exe", "Uninstall LoRA Studio.exe", "_internal") {
    if (-not (Test-Path (Join-Path $target $name))) { throw "the install lacks $name" }
}
if (-not (Test-Path $startMenu)) { throw "no Start-menu shortcut at $startMenu" }
if (-not (Test-Path $uninstallKey)) { throw "not listed in Apps (no $uninstallKey)" }

$env:LORA_STUDIO_HOME = Join-Path $temp "lora-studio-smoke-home"
$env:QT_QPA_PLATFORM = "offscreen"
$output = & (Join-Path $target "lora-studio.exe") --self-test
if ($LASTEXITCODE -ne 0) { $output; throw "--self-test of the installed app failed ($LASTEXITCODE)" }
$summary = ($output | Out-String) | ConvertFrom-Json
if (-not $summary.ok) { $output; throw "--self-test reported a failure" }
Write-Host "self-test passed: LoRA Studio $($summary.version) in $($summary.seconds) s"

# _?= runs the uninstaller in place and waits for it (it cannot then delete itself).
$uninstaller = Join-Path $target "Uninstall LoRA Studio.exe"
$remove = Start-Process -FilePath $uninstaller -ArgumentList "/S", "_?=$target" -Wait -PassThru
if ($remove.ExitCode -ne 0) { throw "the uninstaller exited with $($remove.ExitCode)" }
foreach ($name in "LoRA Studio.exe", "lora-studio.exe", "_internal") {
    if (Test-Path (Join-Path $target $name)) { throw "the uninstaller left $name" }
}
if (Test-Path $startMenu) { throw "the uninstaller left the Start-menu shortcut" }
if (Test-Path $uninstallKey) { throw "the uninstaller left $uninstallKey" }
Write-Host "installed, self-tested and uninstalled cleanly"
