<#
.SYNOPSIS
  capsid serve on a real Windows: what Wine cannot check (DACLs, a second
  user, restricted tokens). Dot-sourced by windows-smoke.ps1, whose
  $Capsid, $WS, $WW, $Root, Report, Skip, Invoke-Capsid, Invoke-CapsidCmd
  and $admin it uses.

  As any user: a job through the server prints and exits as the same job
  run locally; a confined job (restricted token) cannot open the pipe,
  while the same client outside the sandbox can; the owner's shutdown
  stops the server. As an administrator, with a second local user: that
  user cannot open the pipe at all; named by --allow-user it connects but
  cannot run a job in a workspace it cannot write.
#>

# Sends one request line over the pipe as the current user; the first
# event line, or "" when the pipe cannot be opened.
function Send-ServeRequest([string]$Pipe, [string]$Line) {
  $c = New-Object System.IO.Pipes.NamedPipeClientStream(".", $Pipe,
    [System.IO.Pipes.PipeDirection]::InOut)
  try {
    $c.Connect(10000)
    $w = New-Object System.IO.StreamWriter($c)
    $w.AutoFlush = $true
    $w.Write($Line + "`n")
    $r = New-Object System.IO.StreamReader($c)
    return $r.ReadLine()
  } catch {
    return ""
  } finally { $c.Dispose() }
}

# Starts capsid.exe serve on pipe $Pipe with $Extra options; the process.
function Start-Serve([string]$Exe, [string]$Pipe, [string[]]$Extra = @()) {
  $log = Join-Path $Root "serve-$Pipe.log"
  $p = Start-Process -FilePath $Exe -ArgumentList (@("serve", "--socket", "pipe:$Pipe") + $Extra) `
    -RedirectStandardError $log -WindowStyle Hidden -PassThru
  # Without -Wait, a process started with -RedirectStandard* reports no
  # ExitCode unless its handle was taken while it ran (PowerShell issue
  # 5421): Stop-Serve's "exit 0" check would read $null.
  $null = $p.Handle
  for ($i = 0; $i -lt 100; $i++) {
    if ((Test-Path $log) -and (Get-Content -Raw $log) -match "listening on") { break }
    Start-Sleep -Milliseconds 200
  }
  return $p
}

function Stop-Serve($Proc, [string]$Pipe) {
  $ev = Send-ServeRequest $Pipe '{"v":1,"type":"shutdown"}'
  $done = $Proc.WaitForExit(30000)
  if (-not $done) { Stop-Process -Id $Proc.Id -Force -ErrorAction SilentlyContinue }
  return @{ ev = $ev; exited = $done; rc = $Proc.ExitCode }
}

$ServePipe = "capsid-smoke-$PID"
$srv = Start-Serve $Capsid $ServePipe
$ServeArgs = @("--server", "pipe:$ServePipe")

$local = Invoke-Capsid ($WW + @("--", "cmd", "/c", "echo served"))
$remote = Invoke-Capsid ($ServeArgs + $WW + @("--", "cmd", "/c", "echo served"))
Report "serve: a job through the pipe prints and exits as locally" ($local.rc -eq 0 -and $remote.rc -eq $local.rc -and $remote.out -eq $local.out) "local rc=$($local.rc) out=$($local.out) remote rc=$($remote.rc) out=$($remote.out)"

# A confined job holds a restricted token whose restricting SIDs the
# pipe's DACL does not name: it cannot open the pipe and have the server
# run what it may not run itself. The control: the same client, outside
# the sandbox, can.
$nested = Invoke-Capsid ($WW + @("--", $Capsid, "run", "--server", "pipe:$ServePipe", "-C", $WS, "--", "cmd", "/c", "echo escaped"))
Report "serve: a confined job cannot use the server" ($nested.rc -ne 0 -and -not ($nested.out -match "escaped")) "rc=$($nested.rc) out=$($nested.out)"
$outer = Invoke-Capsid ($ServeArgs + @("-C", $WS, "--", "cmd", "/c", "echo reached"))
Report "control: the same client outside the sandbox reaches it" ($outer.rc -eq 0 -and $outer.out -match "reached") "rc=$($outer.rc) out=$($outer.out)"

$ping = Send-ServeRequest $ServePipe '{"v":1,"type":"ping"}'
Report "serve: ping answers pong" ($ping -match '"event":"pong"') $ping
# FILE_FLAG_FIRST_PIPE_INSTANCE (Wine does not honour it): a second
# server cannot take instances of a name in use and read its clients.
$dup = Invoke-CapsidCmd @("serve", "--socket", "pipe:$ServePipe")
Report "serve: a second server on the same pipe is refused" ($dup.rc -eq 1 -and $dup.out -match "a server answers on it") "rc=$($dup.rc) out=$($dup.out)"
$s = Stop-Serve $srv $ServePipe
Report "serve: the owner's shutdown stops it (exit 0)" ($s.ev -match '"event":"ok"' -and $s.exited -and $s.rc -eq 0) "ev=$($s.ev) exited=$($s.exited) rc=$($s.rc)"

if (-not $admin) {
  Skip "serve: a second user" "run this script as an administrator (it creates a local user)"
} else {
  # A second local user, with a random password, removed at the end.
  $Other = "CapsidServeOther"
  Add-Type -AssemblyName System.Web
  $plain = [System.Web.Security.Membership]::GeneratePassword(24, 4)
  $pw = ConvertTo-SecureString $plain -AsPlainText -Force
  Remove-LocalUser -Name $Other -ErrorAction SilentlyContinue
  New-LocalUser -Name $Other -Password $pw -AccountNeverExpires | Out-Null
  $cred = New-Object Management.Automation.PSCredential("$env:COMPUTERNAME\$Other", $pw)
  # capsid.exe where the other user can run it, and a directory for its
  # output that it may write.
  $bin = Join-Path $env:SystemDrive "capsid-serve-smoke"
  New-Item -ItemType Directory -Force $bin | Out-Null
  Copy-Item $Capsid (Join-Path $bin "capsid.exe")
  $runner = Join-Path (Split-Path $Capsid) "capsid-runner.exe"
  if (Test-Path $runner) { Copy-Item $runner (Join-Path $bin "capsid-runner.exe") }
  & icacls.exe $bin /grant "${Other}:(OI)(CI)M" | Out-Null
  $exe = Join-Path $bin "capsid.exe"

  # Runs capsid.exe ARGS as the other user; @{ rc; out }. Start-Process
  # joins -ArgumentList with spaces and quotes nothing: an argument with
  # a space ($WS under a profile like "C:\Users\A B") is quoted here.
  function Invoke-AsOther([string[]]$CapsidArgs) {
    $o = Join-Path $bin "other.out"
    Remove-Item $o -ErrorAction SilentlyContinue
    $quoted = @($CapsidArgs | ForEach-Object { if ($_ -match '\s') { '"' + $_ + '"' } else { $_ } })
    $p = Start-Process -FilePath $exe -ArgumentList $quoted -Credential $cred `
      -WorkingDirectory $bin -RedirectStandardError $o -WindowStyle Hidden -Wait -PassThru
    return @{ rc = $p.ExitCode; out = (Get-Content -Raw $o -ErrorAction SilentlyContinue) }
  }

  $srv = Start-Serve $exe $ServePipe
  $r = Invoke-AsOther @("run", "--server", "pipe:$ServePipe", "-C", $bin, "--", "cmd", "/c", "echo other")
  Report "serve: a second user cannot open the pipe" ($r.rc -ne 0 -and $r.out -match "cannot reach the server") "rc=$($r.rc) out=$($r.out)"
  $s = Stop-Serve $srv $ServePipe

  # Allowed to connect, the other user still runs nothing in a workspace
  # it cannot write ($WS is in this user's profile). A server that is not
  # LocalSystem refuses another user's job before its paths ("mode");
  # one that is checks the cwd with the other user's token ("cwd").
  $srv = Start-Serve $exe $ServePipe @("--allow-user", $Other)
  $r = Invoke-AsOther @("run", "--server", "pipe:$ServePipe", "-C", $WS, "--", "cmd", "/c", "echo other")
  Report "serve: an allowed second user cannot run in a workspace it cannot write" ($r.rc -eq 125 -and -not ($r.out -match "other\r?\n") -and $r.out -match "refused|only for its own user") "rc=$($r.rc) out=$($r.out)"
  $ping = Send-ServeRequest $ServePipe '{"v":1,"type":"ping"}'
  Report "control: the owner still uses that server" ($ping -match '"event":"pong"') $ping
  $s = Stop-Serve $srv $ServePipe

  Remove-LocalUser -Name $Other -ErrorAction SilentlyContinue
  Remove-Item -Recurse -Force $bin -ErrorAction SilentlyContinue
}
