// The Linux service: a hardened systemd unit. The agent runs as its own system user with nothing but CAP_NET_RAW,
// which the system `ping` inherits through the ambient set (NoNewPrivileges stops it from gaining file capabilities
// on exec, so the ambient capability is what makes ping work). No MemoryDenyWriteExecute: V8's JIT needs W+X pages.
import { SERVICE_USER, type Layout } from './layout.ts';

/** systemd's quoting for one ExecStart word: quote when it has spaces, quotes or backslashes; % and $ are literal. */
export function execWord(s: string): string {
  const escaped = s.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped;
}

/** A path in a directive that takes a space-separated list of paths. */
function pathWord(s: string): string {
  return /[\s"]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}

export function systemdUnit(l: Pick<Layout, 'command' | 'binDir'>, o: { user?: string; description?: string } = {}): string {
  const user = o.user ?? SERVICE_USER;
  return `[Unit]
Description=${o.description ?? 'IOC uptime agent: probes this site\'s uplinks and public services'}
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
User=${user}
Group=${user}
ExecStart=${l.command.map(execWord).join(' ')}
Restart=always
RestartSec=5
TimeoutStopSec=20
# spool and status file: /var/lib/ioc-agent, created and owned for the user by systemd
StateDirectory=ioc-agent
StateDirectoryMode=0755
UMask=0022
# ping needs raw sockets; nothing else
AmbientCapabilities=CAP_NET_RAW
CapabilityBoundingSet=CAP_NET_RAW
NoNewPrivileges=yes
ProtectSystem=strict
# the install folder stays writable so a self-update can replace the binary
ReadWritePaths=${pathWord(l.binDir)}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
PrivateMounts=yes
SystemCallArchitectures=native
# what Node (libuv, io_uring included) and ping use; anything else fails with EPERM rather than killing the agent
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}
