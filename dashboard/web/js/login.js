// The login page: name and password (and the second factor when asked),
// then the page the person came for (?next=/path), or their own desk.
import { loginBox, L } from './common.js';

// home is where a person's work is: a township's desk, a department's,
// otherwise the wall.
function home(me) {
  const next = new URL(location.href).searchParams.get('next') || '';
  if (next.startsWith('/') && !next.startsWith('//')) return next; // this hub's pages only
  if (me?.township && me.role === 'township') return '/township/' + encodeURIComponent(me.township);
  if (me?.role === 'department') return '/department';
  return '/';
}

document.documentElement.lang = L('lang') === 'EN' ? 'zh-CN' : 'en';
document.title = `${L('loginTitle')} · snowhub`;
document.body.replaceChildren(loginBox('', (me) => location.replace(home(me))));
document.getElementById('login-name').focus();
