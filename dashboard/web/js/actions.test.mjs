// The incident buttons are the hub's: actionBar draws the steps an
// incident's "actions" name, in their order, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const store = new Map();
globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)) };
// Just enough of a document for el(): elements with children and data.
globalThis.document = {
  createElement: (tag) => ({
    tag, children: [], dataset: {}, attrs: {},
    setAttribute(k, v) { this.attrs[k] = v; },
    append(...c) { this.children.push(...c); },
  }),
};
const { actionBar, actionsFor, summonedMe } = await import('./actions.js');

const buttons = (box) => box.children[0].children.map((b) => b.dataset.action);

test('the buttons are the incident\'s actions, in the hub\'s order', () => {
  const inc = { id: 'INC-1', state: 'dispatched', owner: 'zhaoren', actions: ['accept', 'escalate', 'hold', 'acknowledge', 'summon'] };
  assert.deepEqual(buttons(actionBar(inc, {})), inc.actions);
  // The same incident for someone the hub gives nothing: no buttons,
  // whatever the role the page was opened with.
  assert.deepEqual(buttons(actionBar({ ...inc, actions: [] }, { me: { role: 'operator' } })), []);
  // A step the page has never heard of still gets its button.
  assert.deepEqual(buttons(actionBar({ ...inc, actions: ['verify'] }, {})), ['verify']);
});

test('an incident without actions offers nothing', () => {
  assert.deepEqual(actionsFor({ id: 'INC-2', state: 'opened' }), []);
  assert.deepEqual(actionsFor(undefined), []);
});

test('a department\'s own summons, by its department', () => {
  const inc = { summoned: [{ department: 'water' }, { department: 'power', reported_at: '2026-11-24T06:00:00Z' }] };
  assert.equal(summonedMe(inc, { role: 'department', department: 'power' }).reported_at, '2026-11-24T06:00:00Z');
  assert.equal(summonedMe(inc, { role: 'township', township: 'zhaoren' }), undefined);
});
