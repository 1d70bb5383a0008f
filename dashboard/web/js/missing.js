// The hubs whose figures are missing from a view's answer (the
// "unavailable" of GET /api/v1/stats and /stats/backlog): pure, so node
// --test checks it (missing.test.mjs).
import { L, lang, inLang } from './common.js';

// missingLines gives one line per missing hub, hubs named once across the
// answers given: the hub, its townships (named by twName) and why, in the
// page's language.
export function missingLines(lists, twName) {
  const seen = new Map();
  for (const list of lists) {
    for (const m of list || []) {
      const key = `${m.hub}|${(m.townships || []).join(',')}`;
      if (!seen.has(key)) seen.set(key, m);
    }
  }
  const zh = lang() !== 'en';
  return [...seen.values()].map((m) => {
    const tws = (m.townships || []).map(twName).join(zh ? '、' : ', ');
    const who = m.hub ? `${L('hubNamed')} ${m.hub}` : L('noHub');
    const where = tws ? (zh ? `（${tws}）` : ` (${tws})`) : '';
    return `${who}${where}${zh ? '：' : ': '}${inLang(m.reason)}`;
  });
}
