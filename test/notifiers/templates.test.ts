// Message texts: exact Vietnamese (and English) strings, names from the real province file, times in
// Asia/Ho_Chi_Minh whatever the process zone, durations, lists cut for chat limits, HTML escaping.
import { describe, expect, it } from 'vitest';
import { causeText, formatDuration, formatTime, MAX_LISTED, renderDigest, renderMessage } from '../../server/notifiers/templates.ts';
import { AN_PHU, BINH_SON, CAM_THANH, incident, MIN, names, province, T0 } from './fixtures.ts';

const UI = 'https://ioc.quangngai.gov.vn/';
const vi = { names, lang: 'vi' as const, uiBaseUrl: UI, now: T0 };
const LINK = `https://ioc.quangngai.gov.vn/incidents/carrier%3Aviettel%3A${T0}`;

describe('formatTime', () => {
  it('prints HH:mm dd/mm/yyyy in UTC+7, across midnight and new year', () => {
    expect(formatTime(T0)).toBe('08:05 15/03/2026');
    expect(formatTime(Date.UTC(2026, 11, 31, 17, 30))).toBe('00:30 01/01/2027');
    expect(formatTime(Date.UTC(2026, 0, 1, 16, 59, 59))).toBe('23:59 01/01/2026');
  });
});

describe('formatDuration', () => {
  it.each([
    [72 * MIN + 40_000, 'vi', '1 giờ 12 phút'],
    [45 * MIN, 'vi', '45 phút'],
    [2 * 60 * MIN, 'vi', '2 giờ'],
    [26 * 60 * MIN + 5 * MIN, 'vi', '1 ngày 2 giờ 5 phút'],
    [24 * 60 * MIN + 3 * MIN, 'vi', '1 ngày 3 phút'],
    [59_999, 'vi', 'dưới 1 phút'],
    [-5, 'vi', 'dưới 1 phút'],
    [72 * MIN, 'en', '1 h 12 min'],
    [30_000, 'en', 'under 1 min'],
  ] as const)('%i ms (%s) -> %s', (ms, lang, want) => {
    expect(formatDuration(ms, lang)).toBe(want);
  });
});

describe('causeText', () => {
  it.each([
    [{ cause: 'local_link', subject: BINH_SON, carrier: 'vnpt' }, 'Mất kết nối đường truyền xã', 'Commune link down'],
    [{ cause: 'carrier', subject: 'viettel' }, 'Sự cố nhà mạng Viettel', 'Carrier outage: Viettel'],
    [{ cause: 'service', subject: 'dvc-quocgia', carrier: null }, 'Dịch vụ Cổng Dịch vụ công quốc gia không truy cập được', 'Service unreachable: Cổng Dịch vụ công quốc gia'],
    [{ cause: 'agent', subject: AN_PHU }, 'Trạm đo mất liên lạc', 'Probe agent unreachable'],
    [{ cause: 'service', subject: 'dvc-tinh', severity: 'degraded' }, 'Dịch vụ Cổng Dịch vụ công tỉnh Quảng Ngãi truy cập chậm', 'Service slow: Cổng Dịch vụ công tỉnh Quảng Ngãi'],
    [{ cause: 'local_link', subject: BINH_SON, severity: 'degraded' }, 'Đường truyền xã chất lượng kém', 'Commune link degraded'],
  ] as const)('%o', (over, wantVi, wantEn) => {
    const inc = incident(over);
    expect(causeText(inc, names, 'vi')).toBe(wantVi);
    expect(causeText(inc, names, 'en')).toBe(wantEn);
  });
});

describe('renderMessage', () => {
  it('opening: cause, severity, start, communes by name, targets, evidence, link', () => {
    const m = renderMessage('opened', incident(), T0, vi);
    expect(m.subject).toBe('[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường');
    expect(m.text).toBe(
      [
        '[SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường',
        'Mức độ: Gián đoạn',
        'Bắt đầu: 08:05 15/03/2026',
        'Xã/phường bị ảnh hưởng (3): Phường Cẩm Thành, Xã An Phú, Xã Bình Sơn',
        'Dịch vụ bị ảnh hưởng: Cổng Dịch vụ công quốc gia, Gateway đường truyền của xã',
        'Căn cứ: 3/3 xã dùng Viettel mất kết nối; VNPT, MobiFone bình thường',
        `Xem chi tiết: ${LINK}`,
      ].join('\n'),
    );
    // Precomposed (NFC) diacritics, as Vietnamese keyboards and fonts expect.
    expect(m.text).toBe(m.text.normalize('NFC'));
    expect(m.events).toHaveLength(1);
    expect(m.events[0]).toMatchObject({ kind: 'opened', message: 'opened', url: LINK, summary: m.subject });
    expect(m.digest).toBe(false);
  });

  it('recovery: end time and duration, who acknowledged', () => {
    const inc = incident({ resolvedAt: T0 + 72 * MIN + 40_000, acknowledgedBy: 'trucban', acknowledgedAt: T0 + 10 * MIN });
    const m = renderMessage('resolved', inc, inc.resolvedAt!, vi);
    expect(m.subject).toBe('[ĐÃ KHẮC PHỤC] Sự cố nhà mạng Viettel – 3 xã/phường');
    const lines = m.text.split('\n');
    expect(lines).toContain('Kết thúc: 09:17 15/03/2026, kéo dài 1 giờ 12 phút');
    expect(lines).toContain('Tiếp nhận: trucban lúc 08:15 15/03/2026');
    expect(lines).toContain('Bắt đầu: 08:05 15/03/2026');
  });

  it('reminder: running duration and reminder number', () => {
    const m = renderMessage('reminder', incident(), T0 + 60 * MIN, { ...vi, now: T0 + 60 * MIN, reminder: 2 });
    expect(m.text.split('\n').slice(0, 2)).toEqual([
      '[NHẮC LẠI] Sự cố nhà mạng Viettel – 3 xã/phường',
      'Sự cố chưa được tiếp nhận, đã kéo dài 1 giờ (nhắc lần 2).',
    ]);
    expect(m.events[0]).toMatchObject({ kind: 'reminder', reminder: 2 });
  });

  it('a one-commune local link names the commune in the subject; English switch; carrier line', () => {
    const inc = incident({ id: 'local_link:21040:1', cause: 'local_link', subject: BINH_SON, communes: [BINH_SON], targets: ['gateway'], carrier: 'vnpt' });
    expect(renderMessage('opened', inc, T0, vi).subject).toBe('[SỰ CỐ] Mất kết nối đường truyền xã – Xã Bình Sơn');
    const en = renderMessage('opened', inc, T0, { ...vi, lang: 'en', uiBaseUrl: undefined });
    expect(en.text).toBe(
      [
        '[INCIDENT] Commune link down – Xã Bình Sơn',
        'Severity: Down',
        'Carrier: VNPT',
        'Started: 08:05 15/03/2026',
        'Affected communes (1): Xã Bình Sơn',
        'Affected checks: Gateway đường truyền của xã',
        'Evidence: 3/3 xã dùng Viettel mất kết nối; VNPT, MobiFone bình thường',
      ].join('\n'),
    );
    expect(en.events[0]!.url).toBeNull();
  });

  it('long commune lists are cut with a count of the rest', () => {
    const codes = province.communes.slice(0, MAX_LISTED + 7).map((c) => c.code);
    const m = renderMessage('opened', incident({ communes: codes }), T0, vi);
    const line = m.text.split('\n').find((l) => l.startsWith('Xã/phường bị ảnh hưởng'))!;
    expect(line.startsWith(`Xã/phường bị ảnh hưởng (${MAX_LISTED + 7}): Phường Cẩm Thành, Phường Nghĩa Lộ, Xã An Phú`)).toBe(true);
    expect(line.endsWith(`${province.communes[MAX_LISTED - 1]!.fullName}, và 7 xã/phường khác`)).toBe(true);
  });

  it('HTML says the same and escapes what it is given', () => {
    const m = renderMessage('opened', incident({ evidence: { summary: 'p95 <3000 ms> & "x"', figures: {} } }), T0, vi);
    expect(m.html).toContain('<html lang="vi">');
    expect(m.html).toContain('<td style="padding:2px 0">Phường Cẩm Thành, Xã An Phú, Xã Bình Sơn</td>');
    expect(m.html).toContain('p95 &#60;3000 ms&#62; &#38; &#34;x&#34;');
    expect(m.html).not.toContain('<3000');
    expect(m.html).toContain(`<a href="${LINK}">Xem chi tiết</a>`);
  });

  it('unknown codes fall back to the code instead of throwing', () => {
    const m = renderMessage('opened', incident({ communes: ['99999'], carrier: 'nope', subject: 'nope' }), T0, vi);
    expect(m.subject).toBe('[SỰ CỐ] Sự cố nhà mạng nope – 99999');
  });
});

describe('renderDigest', () => {
  it('merges summaries and keeps every event', () => {
    const a = renderMessage('opened', incident(), T0, vi);
    const b = renderMessage('opened', incident({ id: 'x', cause: 'agent', subject: CAM_THANH, communes: [CAM_THANH] }), T0, { ...vi, uiBaseUrl: undefined });
    const d = renderDigest([a, b], 'vi');
    expect(d.digest).toBe(true);
    expect(d.events.map((e) => e.incident.id)).toEqual([incident().id, 'x']);
    expect(d.text).toBe(
      [
        '[TỔNG HỢP] 2 thông báo sự cố',
        'Nhiều thông báo được gộp thành một để tránh gửi dồn dập:',
        `- [SỰ CỐ] Sự cố nhà mạng Viettel – 3 xã/phường ${LINK}`,
        '- [SỰ CỐ] Trạm đo mất liên lạc – Phường Cẩm Thành',
      ].join('\n'),
    );
    expect(renderDigest([a], 'vi')).toBe(a);
  });
});
