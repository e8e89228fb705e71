<#
.SYNOPSIS
  Manages the API key: a thin wrapper around the cross-platform manage-key CLI (node dist/cli.js).
.DESCRIPTION
  The same commands as scripts/manage-key. The key file defaults to api\.api_key relative to the
  current directory (or $env:QWEN_API_KEY_FILE); its history is the key file's name + _history.
  Exit codes: 0 success, 1 failure, 2 usage error.
.EXAMPLE
  .\api\manage-key.ps1 -Generate
.EXAMPLE
  .\api\manage-key.ps1 -Rotate -Grace 10m
.EXAMPLE
  $key = .\api\manage-key.ps1 -Show
.EXAMPLE
  $key = .\api\manage-key.ps1 -Add alice -Expires 30d
.EXAMPLE
  .\api\manage-key.ps1 -Remove alice
.EXAMPLE
  .\api\manage-key.ps1 -Test -Url https://qwen-api.internal:8443 -Ca ca.crt -Cert client.crt -CertKey client.key
#>
# Only NAME is positional (-Add alice, -Remove alice, -Rotate alice); everything else is named.
[CmdletBinding(PositionalBinding = $false)]
param(
  [Parameter(Position = 0)]
  [string]$Name,
  [switch]$Generate,
  [switch]$Show,
  [switch]$Rotate,
  [switch]$History,
  [switch]$Status,
  [switch]$Test,
  [switch]$Add,
  [switch]$List,
  [switch]$Remove,
  [switch]$Force,
  [switch]$Revoke,
  [switch]$Json,
  [switch]$Previous,
  [switch]$Help,
  [switch]$Version,
  [string]$Grace,
  [string]$MaxGrace,
  [string]$KeyFile,
  [string]$Url,
  [string]$Ca,
  [string]$Cert,
  [string]$CertKey,
  [string]$Expires,
  [string]$ClientsFile
)

$repo = Split-Path -Parent $PSScriptRoot
$cli = Join-Path (Join-Path $repo 'dist') 'cli.js'
if (-not (Test-Path -LiteralPath $cli)) {
  [Console]::Error.WriteLine("manage-key: $cli is missing; run 'npm ci' (or 'npm run build') in $repo")
  exit 1
}

$cliArgs = @()
foreach ($command in 'Generate', 'Show', 'Rotate', 'History', 'Status', 'Test', 'Add', 'List', 'Remove') {
  if ((Get-Variable -Name $command -ValueOnly).IsPresent) { $cliArgs += $command.ToLowerInvariant() }
}
if ($PSBoundParameters.ContainsKey('Name')) { $cliArgs += $Name }
if ($Force) { $cliArgs += '--force' }
if ($Revoke) { $cliArgs += '--revoke' }
if ($Json) { $cliArgs += '--json' }
if ($Previous) { $cliArgs += '--previous' }
if ($Help) { $cliArgs += '--help' }
if ($Version) { $cliArgs += '--version' }
if ($PSBoundParameters.ContainsKey('Grace')) { $cliArgs += '--grace', $Grace }
if ($PSBoundParameters.ContainsKey('MaxGrace')) { $cliArgs += '--max-grace', $MaxGrace }
if ($PSBoundParameters.ContainsKey('Url')) { $cliArgs += '--url', $Url }
if ($PSBoundParameters.ContainsKey('Expires')) { $cliArgs += '--expires', $Expires }
# Files are resolved against PowerShell's location, as -KeyFile is below.
if ($PSBoundParameters.ContainsKey('Ca')) { $cliArgs += '--ca', $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Ca) }
if ($PSBoundParameters.ContainsKey('Cert')) { $cliArgs += '--cert', $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Cert) }
if ($PSBoundParameters.ContainsKey('CertKey')) {
  $cliArgs += '--cert-key', $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($CertKey)
}
if ($PSBoundParameters.ContainsKey('ClientsFile')) {
  $cliArgs += '--clients-file', $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($ClientsFile)
}
if ($PSBoundParameters.ContainsKey('KeyFile')) {
  # Resolved against PowerShell's location, which is not always the process's working directory.
  $cliArgs += '--key-file', $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($KeyFile)
}

# PowerShell starts node in the current location, so the default api/.api_key is relative to it.
& node $cli @cliArgs
exit $LASTEXITCODE
