// The words of the vocabulary (config/vocabulary.ts) in Vietnamese and English. Pure and dependency-free, so the
// UI, the notifier templates and the reports render the same data the same way in the user's language.
import type { SiteKind } from './schema.ts';
import type { Cause, Evidence, EvidenceItem, Reason, Severity } from './vocabulary.ts';
import type { ProbeResult } from './wire.ts';

export type Lang = 'vi' | 'en';

/** Display names for ids; each falls back to the id itself (never blank). */
export interface NameLookup {
  commune(code: string): string;
  carrier(id: string): string;
  target(id: string): string;
}

const ids: NameLookup = { commune: (c) => c, carrier: (c) => c, target: (t) => t };

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
  http: { vi: 'lỗi HTTP', en: 'HTTP error' },
  malformed: { vi: 'phản hồi sai định dạng', en: 'malformed answer' },
  rejected: { vi: 'máy chủ từ chối yêu cầu', en: 'request rejected' },
  signature: { vi: 'chữ ký phản hồi không hợp lệ', en: 'answer signature invalid' },
  nonce: { vi: 'phản hồi không khớp yêu cầu', en: 'answer does not match the request' },
  stale: { vi: 'thông tin thu hồi đã hết hạn', en: 'revocation data stale' },
  revoked: { vi: 'chứng thư số bị thu hồi', en: 'certificate revoked' },
  unknown_cert: { vi: 'chứng thư số không được nhận biết', en: 'certificate unknown to the responder' },
  crl: { vi: 'lỗi danh sách thu hồi (CRL)', en: 'CRL error' },
  digest: { vi: 'dấu thời gian không khớp dữ liệu', en: 'time-stamp covers other data' },
  clock: { vi: 'thời gian cấp dấu lệch', en: 'time-stamp time off' },
  busy: { vi: 'đường truyền đang bận, hoãn đo tốc độ', en: 'link busy, speed test deferred' },
  budget: { vi: 'hết hạn mức dữ liệu đo trong ngày', en: "the day's test data budget is used up" },
  aborted: { vi: 'phép đo bị dừng', en: 'test aborted' },
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

// ---- incidents ---------------------------------------------------------------------------------

const CAUSE_KIND: Record<Cause, Record<Lang, string>> = {
  local_link: { vi: 'Đường truyền xã', en: 'Commune link' },
  carrier: { vi: 'Nhà mạng', en: 'Carrier' },
  service: { vi: 'Dịch vụ', en: 'Service' },
  agent: { vi: 'Trạm đo', en: 'Probe agent' },
};

/** The kind of cause, as a column or filter label: "Nhà mạng", "Commune link". */
export function causeKindText(cause: Cause, lang: Lang): string {
  return CAUSE_KIND[cause][lang];
}

/** The cause in words: "Sự cố nhà mạng Viettel", "Service unreachable: Cổng DVC", "Trạm đo mất liên lạc". */
export function causeText(inc: { cause: Cause; subject: string; severity: Severity }, names: NameLookup, lang: Lang): string {
  const down = inc.severity === 'down';
  const vi = lang === 'vi';
  switch (inc.cause) {
    case 'local_link':
      if (vi) return down ? 'Mất kết nối đường truyền xã' : 'Đường truyền xã chất lượng kém';
      return down ? 'Commune link down' : 'Commune link degraded';
    case 'carrier':
      // a network-wide outage is a carrier-like cause named by its network (config forbids carriers named so)
      if (Object.hasOwn(NETWORK_WORDS, inc.subject)) return vi ? `Sự cố ${networkText(inc.subject, lang)}` : `Outage of ${networkText(inc.subject, lang)}`;
      return vi ? `Sự cố nhà mạng ${names.carrier(inc.subject)}` : `Carrier outage: ${names.carrier(inc.subject)}`;
    case 'service': {
      const t = names.target(inc.subject);
      if (vi) return down ? `Dịch vụ ${t} không truy cập được` : `Dịch vụ ${t} truy cập chậm`;
      return down ? `Service unreachable: ${t}` : `Service slow: ${t}`;
    }
    case 'agent':
      return vi ? 'Trạm đo mất liên lạc' : 'Probe agent unreachable';
  }
}

/** Each uplink network (config/schema.ts UPLINK_NETWORKS): its name, and one line of it ("the TSLCD path"). */
const NETWORK_WORDS: Record<string, { name: Record<Lang, string>; line: Record<Lang, string> }> = {
  internet: { name: { vi: 'Internet', en: 'the Internet' }, line: { vi: 'Đường Internet', en: 'The Internet path' } },
  tslcd: {
    name: { vi: 'mạng truyền số liệu chuyên dùng (TSLCD)', en: 'the government data network (TSLCD)' },
    line: { vi: 'Đường truyền số liệu chuyên dùng (TSLCD)', en: 'The TSLCD path' },
  },
};

/** An uplink network in words: "mạng truyền số liệu chuyên dùng (TSLCD)"; an unknown one by its id. */
export function networkText(network: string, lang: Lang): string {
  return NETWORK_WORDS[network]?.name[lang] ?? network;
}

const pctText = (x: number, lang: Lang) => (lang === 'vi' ? `${fmt1(x, lang)} %` : `${fmt1(x, lang)}%`);

/** "wan1 (Viettel)", or the default route when the probe is not bound to an uplink. */
function whereText(e: { uplink: string | null; carrier: string | null }, names: NameLookup, lang: Lang): string {
  if (!e.uplink) return lang === 'vi' ? 'tuyến mặc định' : 'default route';
  return e.carrier ? `${e.uplink} (${names.carrier(e.carrier)})` : e.uplink;
}

const withReason = (s: string, r: Reason | null, lang: Lang) => (r ? `${s} (${reasonText({ ...r, streak: undefined }, lang)})` : s);

/** One fact of an incident's evidence in words. */
export function evidenceText(e: EvidenceItem, lang: Lang, names: NameLookup = ids): string {
  const vi = lang === 'vi';
  switch (e.code) {
    case 'carrier_share': {
      const c = names.carrier(e.carrier);
      return vi
        ? `${e.failing}/${e.of} xã của nhà mạng ${c} mất kết nối cùng lúc (các nhà mạng khác: ${pctText(e.otherPct, lang)})`
        : `${e.failing}/${e.of} communes on ${c} lost their link at once (other carriers: ${pctText(e.otherPct, lang)})`;
    }
    case 'carrier_route': {
      const c = names.carrier(e.carrier);
      const t = names.target(e.target);
      return vi
        ? `${e.failing}/${e.of} điểm đo qua ${c} không tới được ${t} (các nhà mạng khác: ${pctText(e.otherPct, lang)})`
        : `${e.failing}/${e.of} probes over ${c} cannot reach ${t} (other carriers: ${pctText(e.otherPct, lang)})`;
    }
    case 'service_share': {
      const t = names.target(e.target);
      return withReason(
        vi ? `${e.failing}/${e.of} xã có đường truyền tốt không truy cập được ${t}` : `${e.failing}/${e.of} communes with a working link cannot reach ${t}`,
        e.reason,
        lang,
      );
    }
    case 'gateway_failing': {
      const w = whereText(e, names, lang);
      const s = vi ? `${w}: gateway ${e.hard ? 'không phản hồi' : 'chất lượng kém'}` : `${w}: gateway ${e.hard ? 'not answering' : 'answering poorly'}`;
      return withReason(s, e.reason, lang);
    }
    case 'beyond_failing': {
      const w = whereText(e, names, lang);
      return withReason(
        vi ? `${w}: gateway trả lời nhưng mọi đích phía sau đều lỗi` : `${w}: the gateway answers but every target beyond it fails`,
        e.reason,
        lang,
      );
    }
    case 'silent_after_failure':
      return vi ? `điểm đo ${e.agent} mất liên lạc ngay sau khi đường truyền lỗi` : `agent ${e.agent} fell silent right after its link failed`;
    case 'silent_sibling_failing':
      return vi
        ? `điểm đo ${e.agent} mất liên lạc, điểm đo khác của xã báo đường truyền lỗi`
        : `agent ${e.agent} is silent and another agent of the commune reports the link failing`;
    case 'agent_silent': {
      const who = e.agents.join(', ');
      const dur = e.silentSec !== null ? ` ${e.silentSec} s` : '';
      if (e.siblingOk)
        return vi
          ? `điểm đo ${who} mất liên lạc${dur}; điểm đo khác của xã vẫn báo đường truyền tốt`
          : `agent ${who} silent${dur ? ` for${dur}` : ''}; another agent of the commune still reports a working link`;
      return vi
        ? `điểm đo ${who} mất liên lạc${dur}, không có dấu hiệu đường truyền lỗi (máy tính, nguồn điện hoặc phần mềm đo)`
        : `agent ${who} silent${dur ? ` for${dur}` : ''} with no sign of a link failure (the PC, its power or the probe software)`;
    }
    case 'network_share': {
      const n = networkText(e.network, lang);
      const by = e.carrier ? (vi ? ` của ${names.carrier(e.carrier)}` : ` run by ${names.carrier(e.carrier)}`) : '';
      return vi
        ? `${e.failing}/${e.of} xã mất ${n}${by} cùng lúc, trong khi Internet của các xã đó vẫn hoạt động (Internet lỗi: ${pctText(e.internetPct, lang)})`
        : `${e.failing}/${e.of} communes lost ${n}${by} at once while their Internet lines work (Internet failing: ${pctText(e.internetPct, lang)})`;
    }
    case 'network_path': {
      const line = NETWORK_WORDS[e.network]?.line[lang] ?? e.network;
      const w = whereText(e, names, lang);
      if (vi) return `${line} mất kết nối (${w})${e.internetOk ? ', Internet vẫn hoạt động' : ''}`;
      return `${line} is down (${w})${e.internetOk ? ', the Internet is fine' : ''}`;
    }
    case 'mass_silence':
      return vi
        ? `${e.silent}/${e.of} điểm đo mất liên lạc cùng lúc (thuộc ${e.carriers} nhà mạng): có thể do mạng của máy chủ hoặc mất điện diện rộng`
        : `${e.silent}/${e.of} agents fell silent at once (on ${e.carriers} carriers): likely the server's own network or a wide power cut`;
  }
}

/** An incident's evidence as lines of text; an incident stored before evidence was structured keeps its sentence. */
export function evidenceLines(ev: Evidence, lang: Lang, names: NameLookup = ids): string[] {
  if ('items' in ev) return ev.items.map((e) => evidenceText(e, lang, names));
  return ev.summary ? [ev.summary] : [];
}

/** The evidence in one line ("; " between facts), for messages, exports and reports. */
export function evidenceSummary(ev: Evidence, lang: Lang, names: NameLookup = ids): string {
  return evidenceLines(ev, lang, names).join('; ');
}

/** A probe kind's short name, as the commune panel labels its targets; every kind of the wire needs one. */
const KIND_WORDS: Record<ProbeResult['kind'], Record<Lang, string>> = {
  icmp: { vi: 'Ping', en: 'Ping' },
  http: { vi: 'Web', en: 'Web' },
  dns: { vi: 'DNS', en: 'DNS' },
  tcp: { vi: 'TCP', en: 'TCP' },
  ocsp: { vi: 'OCSP (ký số)', en: 'OCSP (signing)' },
  tsa: { vi: 'Dấu thời gian (ký số)', en: 'Time-stamp (signing)' },
  throughput: { vi: 'Tốc độ đường truyền', en: 'Link speed' },
};

export function kindText(kind: ProbeResult['kind'], lang: Lang): string {
  return KIND_WORDS[kind][lang];
}

/** Each site kind (config/schema.ts SITE_KINDS): where in the commune an agent measures from. */
const SITE_KIND_WORDS: Record<SiteKind, Record<Lang, string>> = {
  commune_centre: { vi: 'Trụ sở UBND xã, phường', en: "Commune People's Committee" },
  school: { vi: 'Trường học', en: 'School' },
  health_station: { vi: 'Trạm y tế', en: 'Health station' },
  other: { vi: 'Điểm đo khác', en: 'Other site' },
};

export function siteKindText(kind: SiteKind, lang: Lang): string {
  return SITE_KIND_WORDS[kind]?.[lang] ?? kind;
}

/**
 * Where an incident or an outage struck, one entry per commune: the commune alone, or "Xã Ba Tơ — Trường THCS Ba Tơ,
 * Trạm y tế xã" when it names some of that commune's sites.
 */
export function placeTexts(communes: readonly string[], sites: readonly { commune: string; name: string }[] | undefined, names: NameLookup = ids): string[] {
  const byCommune = new Map<string, string[]>();
  for (const s of sites ?? []) {
    const l = byCommune.get(s.commune);
    if (l) l.push(s.name);
    else byCommune.set(s.commune, [s.name]);
  }
  return communes.map((c) => {
    const named = byCommune.get(c);
    return named ? `${names.commune(c)} — ${named.join(', ')}` : names.commune(c);
  });
}
