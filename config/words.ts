// The words of the vocabulary (config/vocabulary.ts) in Vietnamese and English. Pure and dependency-free, so the
// UI, the notifier templates and the reports render the same data the same way in the user's language.
import type { Reason } from './vocabulary.ts';

export type Lang = 'vi' | 'en';

const fmt1 = (x: number, lang: Lang) => (Math.round(x * 10) / 10).toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB');

/** Probe error words: the first word of an agent's `error` is one of these; the rest is the OS's own detail. */
const PROBE_ERRORS: Record<string, Record<Lang, string>> = {
  timeout: { vi: 'quá thời gian chờ', en: 'timeout' },
  dns: { vi: 'lỗi phân giải tên miền', en: 'DNS resolution failed' },
  refused: { vi: 'bị từ chối kết nối', en: 'connection refused' },
  reset: { vi: 'kết nối bị ngắt', en: 'connection reset' },
  tls: { vi: 'lỗi chứng chỉ/TLS', en: 'TLS/certificate error' },
  status: { vi: 'mã trạng thái không mong đợi', en: 'unexpected status' },
  keyword: { vi: 'thiếu nội dung mong đợi', en: 'expected content missing' },
  unreachable: { vi: 'không tới được đích', en: 'unreachable' },
  uplink: { vi: 'đường truyền không có sẵn', en: 'uplink not available' },
  connect: { vi: 'không kết nối được', en: 'connect failed' },
  other: { vi: 'lỗi khác', en: 'other error' },
  error: { vi: 'lỗi', en: 'error' },
};

function probeErrorText(error: string, lang: Lang): string {
  const m = /^([a-z_]+)(?::\s*(.*))?$/.exec(error);
  const word = m ? PROBE_ERRORS[m[1]!] : undefined;
  if (!word) return error; // the OS's own message (e.g. ping's), shown as the agent saw it
  return m![2] ? `${word[lang]} (${m![2]})` : word[lang];
}

function baseReasonText(r: Reason, lang: Lang): string {
  const vi = lang === 'vi';
  switch (r.code) {
    case 'loss': return vi ? `mất gói ${fmt1(r.pct, lang)} %` : `loss ${fmt1(r.pct, lang)}%`;
    case 'rtt': return vi ? `độ trễ ${fmt1(r.ms, lang)} ms` : `RTT ${fmt1(r.ms, lang)} ms`;
    case 'slow': return vi ? `phản hồi chậm ${Math.round(r.ms)} ms` : `slow ${Math.round(r.ms)} ms`;
    case 'no_reply': return vi ? 'mất gói 100 %' : 'loss 100%';
    case 'http_status': return `HTTP ${r.status}`;
    case 'rcode': return `DNS ${r.rcode}`;
    case 'probe_error': return probeErrorText(r.error, lang);
    case 'recovering': return vi ? `đang phục hồi (${r.ok}/${r.of})` : `recovering (${r.ok}/${r.of})`;
    case 'agent_silent': return vi ? 'máy đo không gửi dữ liệu' : 'agent silent';
  }
}

/** A status reason in words, e.g. `mất gói 30 % (2/3) · toàn tỉnh` / `loss 30% (2/3) · province-wide`. */
export function reasonText(r: Reason, lang: Lang): string {
  let s = baseReasonText(r, lang);
  if (r.streak) s += ` (${r.streak.n}/${r.streak.of})`;
  if (r.provinceWide) s += lang === 'vi' ? ' · toàn tỉnh' : ' · province-wide';
  return s;
}
