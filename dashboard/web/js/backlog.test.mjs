// The 考单 board's backlog chart: the API's series shaped into lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const store = new Map();
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) };
const { L } = await import('./common.js');
const { backlogLines } = await import('./backlog.js');

const res = {
  at: ['2026-02-01T00:00:00+08:00', '2026-02-02T00:00:00+08:00', '2026-02-03T00:00:00+08:00'],
  rows: [
    { key: 'xiangong', name: '仙宫镇', open: [1, 1, 0], over_7d: [0, 0, 0], over_30d: [0, 0, 0] },
    { key: 'zhaoren', name: '昭仁街道', open: [2, 2, 2], over_7d: [2, 2, 2], over_30d: [0, 1, 1] },
  ],
  total: { key: '', name: '全县 / county', open: [3, 3, 2], over_7d: [2, 2, 2], over_30d: [0, 1, 1] },
};
const name = (r) => r.name;

test('backlog lines: a township each, then the total over 7 and 30 days', () => {
  const { days, lines } = backlogLines(res, name, L);
  // The county's dates, not the browser's: the offset is the hub's.
  assert.deepEqual(days, ['02-01', '02-02', '02-03']);
  assert.deepEqual(lines.map((l) => [l.name, l.data, !!l.dashed]), [
    ['仙宫镇', [1, 1, 0], false],
    ['昭仁街道', [2, 2, 2], false],
    ['合计 超7天', [2, 2, 2], true],
    ['合计 超30天', [0, 1, 1], true],
  ]);
});

test('backlog lines: a township desk sees its own, no "total" word; English on the toggle', () => {
  const own = { at: res.at, rows: [res.rows[1]], total: { ...res.rows[1], key: '' } };
  assert.deepEqual(backlogLines(own, name, L).lines.map((l) => l.name), ['昭仁街道', '超7天', '超30天']);
  store.set('snowhub.lang', 'en');
  try {
    assert.deepEqual(backlogLines(res, name, L).lines.slice(2).map((l) => l.name), ['Total: Over 7 days', 'Total: Over 30 days']);
  } finally { store.delete('snowhub.lang'); }
});

test('backlog lines: within one township, its own line and its own ages', () => {
  const { lines } = backlogLines(res, name, L, 'xiangong');
  assert.deepEqual(lines.map((l) => [l.name, l.data]), [['仙宫镇', [1, 1, 0]], ['超7天', [0, 0, 0]], ['超30天', [0, 0, 0]]]);
});

test('backlog lines: no points, the lines of the total empty (the legend still says what it is)', () => {
  const { days, lines } = backlogLines({ at: [], rows: [], total: { open: [], over_7d: [], over_30d: [] } }, name, L);
  assert.deepEqual(days, []);
  assert.deepEqual(lines.map((l) => [l.name, l.data]), [['超7天', []], ['超30天', []]]);
  assert.deepEqual(backlogLines(null, name, L), { days: [], lines: [] });
});
