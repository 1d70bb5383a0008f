// Shared by every page: the token, the API, the websocket with resume, labels.
const TOKEN_KEY = 'snowhub.token';

export function token() {
  const u = new URL(location.href);
  const t = u.searchParams.get('token');
  if (t) {
    localStorage.setItem(TOKEN_KEY, t);
    u.searchParams.delete('token');
    history.replaceState(null, '', u.pathname + u.search + u.hash);
  }
  return localStorage.getItem(TOKEN_KEY) || '';
}

export function askToken(message) {
  document.body.replaceChildren();
  const box = el('div', 'panel login');
  box.append(el('h2', '', L('login')), el('p', 'status', message || ''));
  const input = el('input');
  input.type = 'password';
  input.placeholder = 'token';
  const go = el('button', 'primary', L('enter'));
  go.onclick = () => { localStorage.setItem(TOKEN_KEY, input.value.trim()); location.reload(); };
  box.append(input, go);
  document.body.append(box);
}

export async function api(path, opts = {}) {
  const headers = { Authorization: 'Bearer ' + token(), ...(opts.body ? { 'Content-Type': 'application/json' } : {}) };
  const res = await fetch(path, { ...opts, headers });
  if (res.status === 401) { askToken(L('badToken')); throw new Error('unauthorized'); }
  const body = res.headers.get('Content-Type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body?.error || res.statusText);
  return body;
}

// el builds an element; text is set with textContent, never as HTML.
export function el(tag, cls = '', text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// connect keeps a websocket open for ever: it resumes after the last
// sequence number it saw, with backoff and jitter, and shows a banner
// while the connection is lost.
export function connect(onMessage) {
  let last = 0, delay = 1000, lostAt = null;
  const banner = document.getElementById('banner');
  const open = () => {
    const q = new URLSearchParams({ token: token() });
    if (last > 0) q.set('since', String(last));
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?' + q);
    ws.onopen = () => { delay = 1000; lostAt = null; banner?.classList.remove('show'); };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'snapshot' || m.seq > last) last = m.seq;
      onMessage(m);
    };
    ws.onclose = () => {
      if (!lostAt) lostAt = new Date();
      if (banner) {
        banner.textContent = `${L('lost')} ${lostAt.toLocaleTimeString()} — ${L('reconnecting')}`;
        banner.classList.add('show');
      }
      setTimeout(open, delay / 2 + Math.random() * delay / 2);
      delay = Math.min(delay * 2, 30000);
    };
  };
  open();
}

const labels = {
  zh: { login: '请输入访问令牌', enter: '进入', badToken: '令牌无效或已过期', lost: '连接中断，自', reconnecting: '正在重连…',
    online: '在线', degraded: '降级', offline: '离线', unknown: '未知', maintenance: '维护中',
    opened: '已制单', dispatched: '已派单', accepted: '已接单', resolved: '已办结', evaluated: '已评价', reviewed: '已考评', held: '挂起',
    critical: '紧急', major: '重要', minor: '一般', wall: '视频墙', desk: '乡镇工作台', uptime: '在线率', incidents: '事件',
    cameras: '摄像机', sensors: '传感器', since: '自', left: '剩余', overdue: '已超时', offlineSince: '离线自',
    accept: '接单', resolve: '办结', evaluate: '评价', hold: '挂起', resume: '恢复', reopen: '重办', escalate: '上报',
    dispatch: '派单', review: '考评', escalatedAway: '已上报县级（只读）', note: '处理说明', reason: '原因',
    satisfied: '满意', neutral: '一般', unsatisfied: '不满意', downNow: '当前离线', township: '乡镇', rate: '在线率',
    exportCsv: '导出 CSV', setMaint: '设置维护', end: '结束', lang: 'EN', all: '全部', search: '搜索', updated: '更新于' },
  en: { login: 'Enter your access token', enter: 'Enter', badToken: 'Token not valid', lost: 'Connection lost since', reconnecting: 'reconnecting…',
    online: 'online', degraded: 'degraded', offline: 'offline', unknown: 'unknown', maintenance: 'maintenance',
    opened: 'opened', dispatched: 'dispatched', accepted: 'accepted', resolved: 'resolved', evaluated: 'evaluated', reviewed: 'reviewed', held: 'held',
    critical: 'critical', major: 'major', minor: 'minor', wall: 'Wall', desk: 'Township desk', uptime: 'Uptime', incidents: 'Incidents',
    cameras: 'Cameras', sensors: 'Sensors', since: 'since', left: 'left', overdue: 'overdue', offlineSince: 'offline since',
    accept: 'Accept', resolve: 'Resolve', evaluate: 'Evaluate', hold: 'Hold', resume: 'Resume', reopen: 'Reopen', escalate: 'Escalate',
    dispatch: 'Dispatch', review: 'Review', escalatedAway: 'Escalated to the county (read-only)', note: 'What was done', reason: 'Reason',
    satisfied: 'satisfied', neutral: 'neutral', unsatisfied: 'unsatisfied', downNow: 'Down now', township: 'Township', rate: 'Online rate',
    exportCsv: 'Export CSV', setMaint: 'Set maintenance', end: 'End', lang: '中文', all: 'All', search: 'Search', updated: 'updated' },
};

export function L(key) {
  const lang = localStorage.getItem('snowhub.lang') || 'zh';
  return labels[lang]?.[key] ?? labels.zh[key] ?? key;
}

export function langToggle() {
  const b = el('button', '', L('lang'));
  b.onclick = () => {
    localStorage.setItem('snowhub.lang', (localStorage.getItem('snowhub.lang') || 'zh') === 'zh' ? 'en' : 'zh');
    location.reload();
  };
  return b;
}

export function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function countdown(iso) {
  if (!iso) return '';
  const s = (new Date(iso).getTime() - Date.now()) / 1000;
  if (s <= 0) return L('overdue');
  const m = Math.floor(s / 60);
  return `${L('left')} ${m >= 60 ? Math.floor(m / 60) + 'h' + (m % 60) + 'm' : m + 'm' + Math.floor(s % 60) + 's'}`;
}

export function header(active) {
  const h = document.querySelector('header');
  const nav = h.querySelector('nav');
  for (const [href, key] of [['/', 'wall'], ['/uptime', 'uptime']]) {
    const a = el('a', active === key ? 'active' : '', L(key));
    a.href = href;
    nav.append(a);
  }
  h.append(langToggle());
}
