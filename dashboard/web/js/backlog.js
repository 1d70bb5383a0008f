// Shaping of GET /api/v1/stats/backlog for the 考单 board's line chart:
// pure, so node --test checks it (backlog.test.mjs).

// backlogLines turns the API's answer into the chart's axis and lines: one
// line of open incidents (积压) per township, named by it, then the total's over-7-days and
// over-30-days lines (dashed). The axis reads the county's dates as the hub
// wrote them (the midnights carry the county's offset), whatever the
// browser's zone. label names a row; t gives the words (L); within, when
// set, keeps that township only, with its own ages in place of the total.
export function backlogLines(res, label, t, within = '') {
  const at = res?.at || [];
  if (within) {
    const own = (res?.rows || []).filter((r) => r.key === within);
    const empty = at.map(() => 0);
    res = { ...res, rows: own, total: own[0] || { open: empty, over_7d: empty, over_30d: empty } };
  }
  const days = at.map((x) => String(x).slice(5, 10)); // MM-DD of the local midnight
  const lines = (res?.rows || []).map((r) => ({ name: label(r), key: r.key, data: r.open.slice() }));
  const tot = res?.total;
  if (tot) { // even with no point, so the legend says what the chart is about
    const scope = (res.rows || []).length > 1 ? `${t('total')} ` : '';
    lines.push({ name: `${scope}${t('over7d')}`, key: 'over_7d', data: tot.over_7d.slice(), dashed: true });
    lines.push({ name: `${scope}${t('over30d')}`, key: 'over_30d', data: tot.over_30d.slice(), dashed: true });
  }
  return { days, lines };
}
