// The Windows service: a Task Scheduler task that starts at boot as SYSTEM and is restarted on failure. A real
// Windows service would need a service wrapper binary (node.exe cannot answer the service control manager) that we
// cannot ship; schtasks is part of every Windows 10/11.
import { SERVICE_NAME, type Layout } from './layout.ts';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One argument for a Windows command line (CommandLineToArgvW rules, which node.exe follows). */
export function winArg(s: string): string {
  if (s !== '' && !/[\s"]/.test(s)) return s;
  return `"${s.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/** Task Scheduler 1.2 definition (Windows 7+ schema; the agent needs Windows 10/11 for Node 20 anyway). */
export function scheduledTaskXml(l: Pick<Layout, 'command' | 'binDir'>, o: { description?: string } = {}): string {
  const [program, ...args] = l.command;
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>${xml(o.description ?? 'IOC uptime agent: probes this site\'s uplinks and public services')}</Description>
    <URI>\\${SERVICE_NAME}</URI>
  </RegistrationInfo>
  <Triggers>
    <BootTrigger>
      <Enabled>true</Enabled>
    </BootTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>S-1-5-18</UserId>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <WakeToRun>false</WakeToRun>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>5</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${xml(program ?? '')}</Command>
      <Arguments>${xml(args.map(winArg).join(' '))}</Arguments>
      <WorkingDirectory>${xml(l.binDir)}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
`;
}

/** schtasks reads the definition reliably as UTF-16 LE with a byte order mark. */
export function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/\n/g, '\r\n'), 'utf16le')]);
}

/** The commands that register, start, stop and remove the task. */
export const schtasks = {
  create: (xmlFile: string) => ['schtasks', '/Create', '/TN', SERVICE_NAME, '/XML', xmlFile, '/F'],
  run: () => ['schtasks', '/Run', '/TN', SERVICE_NAME],
  end: () => ['schtasks', '/End', '/TN', SERVICE_NAME],
  delete: () => ['schtasks', '/Delete', '/TN', SERVICE_NAME, '/F'],
};
