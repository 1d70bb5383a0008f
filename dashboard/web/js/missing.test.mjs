// The 考单 board's banner when a view's figures miss a hub.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const store = new Map();
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) };
const { missingLines } = await import('./missing.js');

const names = { zhaoren: '昭仁街道', xiangong: '相公镇' };
const tw = (id) => names[id] || id;
const north = { hub: 'north', townships: ['zhaoren'], reason: '所属中心 north 自 11-25 12:00:00 不可达，其数据未计入 / hub north is unreachable since 2026-11-25T04:00:00Z; its figures are missing' };

test('missing hubs: named once across the figures and the backlog, townships by name, Chinese first', () => {
  store.set('snowhub.lang', 'zh');
  const lines = missingLines([[north], [north, { hub: '', townships: ['xiangong'], reason: '尚未见到负责这些乡镇的中心 / no hub owning these townships has been seen' }]], tw);
  assert.deepEqual(lines, [
    '所属中心 north（昭仁街道）：所属中心 north 自 11-25 12:00:00 不可达，其数据未计入',
    '未知所属中心（相公镇）：尚未见到负责这些乡镇的中心',
  ]);
});

test('missing hubs in English on the toggle', () => {
  store.set('snowhub.lang', 'en');
  assert.deepEqual(missingLines([[north]], tw), ['hub north (昭仁街道): hub north is unreachable since 2026-11-25T04:00:00Z; its figures are missing']);
  store.set('snowhub.lang', 'zh');
});

test('nothing missing: no line', () => {
  assert.deepEqual(missingLines([undefined, []], tw), []);
});
