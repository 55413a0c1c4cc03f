# One command to set up and run LoRA Studio on Windows (PowerShell).
#   powershell -ExecutionPolicy Bypass -File scripts\setup.ps1 app    install the GUI and launch it
#   powershell -ExecutionPolicy Bypass -File scripts\setup.ps1 test   install everything and run the tests
param([string]$Mode = "app", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

$python = $null
foreach ($v in @("3.12", "3.11", "3.13", "3.10")) {
    try { & py "-$v" -c "import sys" 2>$null; if ($LASTEXITCODE -eq 0) { $python = @("py", "-$v"); break } } catch {}
}
if (-not $python) {
    Write-Error "LoRA Studio needs Python 3.10 to 3.13. Install it from python.org (tick 'Add to PATH') and run this again."
    exit 2
}
if (-not (Test-Path .venv\Scripts\python.exe)) {
    & $python[0] $python[1] -m venv .venv
}
$req = "requirements\$Mode.txt"
if (-not (Test-Path $req)) { Write-Error "usage: scripts\setup.ps1 app|test"; exit 2 }
.venv\Scripts\python.exe -m pip install -q --upgrade pip
.venv\Scripts\python.exe -m pip install -q -r $req
if ($Mode -eq "app") {
    & .venv\Scripts\lora-studio.exe @Rest
} else {
    $env:QT_QPA_PLATFORM = "offscreen"
    & .venv\Scripts\python.exe -m pytest @Rest
}
exit $LASTEXITCODE
