// Unit tests of the pages' pure functions: node --test (run by
// dashboard/webjs_test.go). The browser tests cover the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const store = new Map();
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) };
const c = await import('./common.js');

test('reconnect back-off is capped at 3-5 s with jitter', () => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const d = c.backoff(attempt);
    assert.ok(d >= 375 && d <= 5000, `attempt ${attempt}: ${d} ms`);
    if (attempt >= 3) assert.ok(d >= 3000, `attempt ${attempt}: ${d} ms below 3 s`);
  }
  const many = new Set(Array.from({ length: 20 }, () => c.backoff(10)));
  assert.ok(many.size > 1, 'no jitter');
});

test('durations and ages read the way people say them', () => {
  assert.equal(c.dur(286), '4分46秒');
  assert.equal(c.dur(3600 + 300), '1小时5分');
  assert.equal(c.dur(2 * 86400 + 3 * 3600), '2天3小时');
  assert.equal(c.goDur('1h2m3s'), '1小时2分');
  assert.equal(c.goDur('46s'), '46秒');
  assert.equal(c.ago(new Date(Date.now() - 125e3).toISOString()), '2分钟前');
  assert.equal(c.ago(new Date().toISOString()), '刚刚');
});

test('camera causes and API refusals in Chinese', () => {
  assert.equal(c.causeText('stalled'), '无视频帧');
  assert.equal(c.causeText('not_found'), '地址不存在');
  for (const k of ['refused', 'timeout', 'auth', 'no_video', 'low_fps', 'protocol']) assert.notEqual(c.causeText(k), k, k);
  assert.equal(c.errText(409, 'cannot resolve an incident that is dispatched (allowed from accepted)'), '事件当前为“待接单”，不能办结（仅在办理中时可以）');
  assert.equal(c.errText(403, '办结人不能给自己评单 / the user who resolved it may not evaluate it'), '办结人不能给自己评单');
  assert.equal(c.errText(400, 'something new'), '请求有误：something new');
});

test('history: steps named as the county names them, system notes in Chinese', () => {
  const at = new Date(2026, 10, 24, 8, 24, 5).toISOString();
  const line = c.historyLine({ at, by: 'system', action: 'dispatch', note: 'automatic dispatch to the township desk' });
  assert.match(line, /系统 派单：自动派单至乡镇$/);
  assert.match(c.historyLine({ at, by: 'zr', action: 'assign', note: '派 王建国 实地走访 / sent on site' }), /zr 派人：派 王建国 实地走访$/);
  assert.equal(c.stepName('resolve'), '做单');
  assert.equal(c.stepName('review'), '考单');
});

test('deadlines carry the step and the clock time', () => {
  const due = new Date(Date.now() + 138e3);
  const t = c.deadlineText('accept', due.toISOString());
  assert.match(t, /^接单时限 \d\d:\d\d（剩余 2分1[5-8]秒）$/);
  assert.match(c.countdown(new Date(Date.now() - 286e3).toISOString()), /^超时 4分4[5-7]秒$/);
});

test('English on the toggle', () => {
  store.set('snowhub.lang', 'en');
  try {
    assert.equal(c.causeText('stalled'), 'no frames');
    assert.equal(c.errText(403, '办结人不能给自己评单 / the user who resolved it may not evaluate it'), 'the user who resolved it may not evaluate it');
    assert.equal(c.dur(286), '4m 46s');
  } finally { store.delete('snowhub.lang'); }
});

test('a CSV cell a spreadsheet would run gets a leading quote; a negative number stays a number', () => {
  assert.equal(c.csvCell('=HYPERLINK("http://evil.example","点我")'), `"'=HYPERLINK(""http://evil.example"",""点我"")"`);
  assert.equal(c.csvCell('+86 138'), "'+86 138");
  assert.equal(c.csvCell('@SUM(1+1)'), "'@SUM(1+1)");
  assert.equal(c.csvCell('-2 号'), "'-2 号");
  assert.equal(c.csvCell('\tx'), "'\tx");
  assert.equal(c.csvCell('-2'), '-2');
  assert.equal(c.csvCell('-0.25'), '-0.25');
  assert.equal(c.csvCell(-3), '-3');
  assert.equal(c.csvCell('312国道 昭仁路口'), '312国道 昭仁路口');
  assert.equal(c.csvText([['a', '=1+1'], [null, 'x,y']]), "a,'=1+1\r\n,\"x,y\"\r\n");
});

test('a period is named by its local dates, the end exclusive', () => {
  assert.equal(c.periodName(new Date(2026, 11, 1), new Date(2026, 11, 4)), '2026-12-01至2026-12-03');
  assert.equal(c.periodName(new Date(2026, 11, 1), new Date(2026, 11, 3, 15, 30)), '2026-12-01至2026-12-03');
});

test('an offline camera reads since its outage began, not since the hub restarted', () => {
  const down = '2026-12-03T09:27:00Z', restart = '2026-12-03T09:33:00Z';
  assert.equal(c.stateSince({ state: 'offline', since: restart, down_since: down }), down);
  assert.equal(c.stateSince({ state: 'offline', since: restart }), restart);
  assert.equal(c.stateSince({ state: 'online', since: restart, down_since: down }), restart);
});
