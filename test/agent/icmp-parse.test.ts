// Table tests of the pure ping-output parser on recorded outputs (iputils 20221126 on this machine,
// pinging hosts in test namespaces; Windows 10 English output with CRLF line ends).
import { describe, expect, it } from 'vitest';
import { icmpResultSchema } from '../../config/wire.ts';
import { icmpResultFrom, parsePingOutput, rttStats } from '../../agent/probes/icmp.ts';

const LINUX_LOSS = `PING 10.213.77.2 (10.213.77.2) 56(84) bytes of data.
64 bytes from 10.213.77.2: icmp_seq=3 ttl=64 time=0.063 ms
64 bytes from 10.213.77.2: icmp_seq=5 ttl=64 time=0.045 ms
64 bytes from 10.213.77.2: icmp_seq=6 ttl=64 time=0.061 ms
64 bytes from 10.213.77.2: icmp_seq=7 ttl=64 time=0.067 ms
64 bytes from 10.213.77.2: icmp_seq=8 ttl=64 time=0.053 ms
64 bytes from 10.213.77.2: icmp_seq=9 ttl=64 time=0.061 ms
64 bytes from 10.213.77.2: icmp_seq=10 ttl=64 time=0.058 ms

--- 10.213.77.2 ping statistics ---
10 packets transmitted, 7 received, 30% packet loss, time 330ms
rtt min/avg/max/mdev = 0.045/0.058/0.067/0.007 ms
`;

const LINUX_ALL_OK = `PING 10.213.77.2 (10.213.77.2) 56(84) bytes of data.
64 bytes from 10.213.77.2: icmp_seq=1 ttl=64 time=0.556 ms
64 bytes from 10.213.77.2: icmp_seq=2 ttl=64 time=0.060 ms
64 bytes from 10.213.77.2: icmp_seq=3 ttl=64 time=0.065 ms
64 bytes from 10.213.77.2: icmp_seq=4 ttl=64 time=0.112 ms
64 bytes from 10.213.77.2: icmp_seq=5 ttl=64 time=0.145 ms

--- 10.213.77.2 ping statistics ---
5 packets transmitted, 5 received, 0% packet loss, time 72ms
rtt min/avg/max/mdev = 0.060/0.187/0.556/0.186 ms
`;

const LINUX_ALL_LOST = `PING 10.213.78.2 (10.213.78.2) 56(84) bytes of data.

--- 10.213.78.2 ping statistics ---
4 packets transmitted, 0 received, 100% packet loss, time 618ms

`;

const LINUX_UNREACHABLE = `PING 10.213.78.5 (10.213.78.5) 56(84) bytes of data.
From 10.213.78.1 icmp_seq=1 Destination Host Unreachable
From 10.213.78.1 icmp_seq=2 Destination Host Unreachable
From 10.213.78.1 icmp_seq=3 Destination Host Unreachable

--- 10.213.78.5 ping statistics ---
4 packets transmitted, 0 received, +3 errors, 100% packet loss, time 3060ms
pipe 3
`;

const LINUX_DUP = `PING 10.213.9.2 (10.213.9.2) 56(84) bytes of data.
64 bytes from 10.213.9.2: icmp_seq=1 ttl=64 time=1.10 ms
64 bytes from 10.213.9.2: icmp_seq=1 ttl=64 time=1.30 ms (DUP!)
64 bytes from 10.213.9.2: icmp_seq=2 ttl=64 time=1.20 ms

--- 10.213.9.2 ping statistics ---
2 packets transmitted, 2 received, +1 duplicates, 0% packet loss, time 1001ms
`;

const LINUX_UNKNOWN_HOST = `ping: nonexistent.invalid: Name or service not known
`;

const WINDOWS = [
  'Pinging 10.0.0.1 with 32 bytes of data:',
  'Reply from 10.0.0.1: bytes=32 time=12ms TTL=64',
  'Request timed out.',
  'Reply from 10.0.0.1: bytes=32 time<1ms TTL=64',
  'Reply from 10.0.0.1: bytes=32 time=14ms TTL=64',
  '',
  'Ping statistics for 10.0.0.1:',
  '    Packets: Sent = 4, Received = 3, Lost = 1 (25% loss),',
  'Approximate round trip times in milli-seconds:',
  '    Minimum = 0ms, Maximum = 14ms, Average = 8ms',
  '',
].join('\r\n');

// Windows counts "Destination host unreachable" replies as received; they are not echo replies.
const WINDOWS_UNREACHABLE = [
  'Pinging 10.0.0.5 with 32 bytes of data:',
  'Reply from 10.0.0.9: Destination host unreachable.',
  'Reply from 10.0.0.9: Destination host unreachable.',
  '',
  'Ping statistics for 10.0.0.5:',
  '    Packets: Sent = 2, Received = 2, Lost = 0 (0% loss),',
  '',
].join('\r\n');

describe('parsePingOutput', () => {
  const cases: {
    name: string;
    output: string;
    sent: number;
    received: number;
    rtts: (number | null)[] | undefined;
    error?: RegExp;
  }[] = [
    { name: 'iputils, all answered', output: LINUX_ALL_OK, sent: 5, received: 5, rtts: [0.556, 0.06, 0.065, 0.112, 0.145] },
    {
      name: 'iputils, 3 of 10 lost (placed by icmp_seq)',
      output: LINUX_LOSS,
      sent: 10,
      received: 7,
      rtts: [null, null, 0.063, null, 0.045, 0.061, 0.067, 0.053, 0.061, 0.058],
    },
    { name: 'iputils, all lost', output: LINUX_ALL_LOST, sent: 4, received: 0, rtts: [null, null, null, null] },
    {
      name: 'iputils, destination unreachable',
      output: LINUX_UNREACHABLE,
      sent: 4,
      received: 0,
      rtts: [null, null, null, null],
      error: /Destination Host Unreachable/,
    },
    { name: 'iputils, duplicate reply ignored', output: LINUX_DUP, sent: 2, received: 2, rtts: [1.1, 1.2] },
    { name: 'iputils, unknown host', output: LINUX_UNKNOWN_HOST, sent: 0, received: 0, rtts: undefined, error: /Name or service not known/ },
    { name: 'Windows, one timeout and time<1ms', output: WINDOWS, sent: 4, received: 3, rtts: [12, null, 0.5, 14] },
    {
      name: 'Windows, unreachable replies are losses',
      output: WINDOWS_UNREACHABLE,
      sent: 2,
      received: 0,
      rtts: [null, null],
      error: /Destination host unreachable/,
    },
  ];

  it.each(cases)('$name', ({ output, sent, received, rtts, error }) => {
    const p = parsePingOutput(output);
    expect(p.sent).toBe(sent);
    expect(p.received).toBe(received);
    expect(p.rtts).toEqual(rtts);
    if (error) expect(p.errors.join('; ')).toMatch(error);
    else expect(p.errors).toEqual([]);
    // Whatever the platform, the result must be a valid wire frame.
    const r = icmpResultFrom({ id: 't1' }, 1_700_000_000_000, p);
    expect(icmpResultSchema.safeParse(r).success).toBe(true);
    if (error) expect(r.error).toMatch(error);
  });

  it('macOS/BusyBox 0-based sequence numbers', () => {
    const out = '64 bytes from 10.213.1.2: seq=0 ttl=64 time=2.000 ms\n64 bytes from 10.213.1.2: seq=2 ttl=64 time=4.000 ms\n3 packets transmitted, 2 packets received, 33% packet loss\n';
    expect(parsePingOutput(out).rtts).toEqual([2, null, 4]);
  });

  it('ping cut short (no summary line) still counts what it printed', () => {
    const out = 'PING x (10.213.1.2) 56(84) bytes of data.\n64 bytes from 10.213.1.2: icmp_seq=1 ttl=64 time=1.5 ms\n64 bytes from 10.213.1.2: icmp_seq=3 ttl=64 time=2.5 ms\n';
    const p = parsePingOutput(out);
    expect(p).toMatchObject({ sent: 3, received: 2, rtts: [1.5, null, 2.5] });
  });
});

describe('figures', () => {
  it('loss, min/median/avg/max and jitter from the iputils loss output', () => {
    const r = icmpResultFrom({ id: 'gw' }, 1, parsePingOutput(LINUX_LOSS));
    expect(r.loss).toBe(30);
    expect(r.rtt_min).toBe(0.045);
    expect(r.rtt_max).toBe(0.067);
    // received in order: .063 .045 .061 .067 .053 .061 .058 -> sorted median .061
    expect(r.rtt_median).toBe(0.061);
    expect(r.rtt_avg).toBeCloseTo((0.063 + 0.045 + 0.061 + 0.067 + 0.053 + 0.061 + 0.058) / 7, 3);
    // |diffs| .018 .016 .006 .014 .008 .003 -> mean .065/6
    expect(r.jitter).toBeCloseTo(0.065 / 6, 3);
  });

  it('even count median is the mean of the middle two; one reply has no jitter', () => {
    expect(rttStats([4, null, 1, 3, 2]).rtt_median).toBe(2.5);
    expect(rttStats([null, 7, null])).toEqual({ rtt_min: 7, rtt_median: 7, rtt_avg: 7, rtt_max: 7, jitter: null });
    expect(rttStats([null, null]).rtt_avg).toBeNull();
  });

  it('all lost is 100 % loss with null figures, not an error', () => {
    const r = icmpResultFrom({ id: 'gw' }, 1, parsePingOutput(LINUX_ALL_LOST));
    expect(r).toMatchObject({ sent: 4, received: 0, loss: 100, rtt_min: null, rtt_median: null, jitter: null });
    expect(r.error).toBeUndefined();
  });
});
