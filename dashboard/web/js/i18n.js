// What people read: Chinese first, English on the toggle. The six steps are
// named as the county names them (制单, 派单, 接单, 派人, 做单, 评单, 考单).

export const labels = {
  zh: {
    login: '请输入访问令牌', tokenLabel: '访问令牌', enter: '进入', badToken: '令牌无效或已过期',
    lost: '与平台的连接中断，自', reconnecting: '正在重连，画面与状态暂不可信', unknownState: '状态未知', hubDown: '中心不可达', deptDesk: '部门报到台', summonedAt: '召集', reportBy: '报到时限', reported: '已报到', doneAt: '已办结', waitReport: '待报到', waitDone: '待办结', noSummons: '暂无召集本部门的事件', deptOnly: '此页面供被召集的部门使用', workbench: '工作台办理', seen: '已阅', more: '更多操作',
    online: '在线', degraded: '画面异常', offline: '离线', unknown: '状态未知', maintenance: '维护中',
    opened: '待派单', dispatched: '待接单', accepted: '办理中', resolved: '待评单', evaluated: '待考单', reviewed: '已考单', held: '挂起',
    critical: '紧急', major: '重要', minor: '一般',
    wall: '视频墙', county: '县级工作台', desk: '工作台', uptime: '在线率', stats: '考单', incidents: '事件', nav: '页面导航',
    cameras: '摄像机', sensors: '传感器', since: '自', left: '剩余', overdue: '已超时', overdueBy: '超时', offlineSince: '离线自',
    system: '系统', lang: 'EN', langAria: 'Switch to English', all: '全部', search: '搜索', updated: '更新于',
    // steps as the county names them
    step_open: '制单', step_create: '制单', step_dispatch: '派单', step_accept: '接单', step_assign: '派人', step_resolve: '做单',
    step_evaluate: '评单', step_review: '考单', step_escalate: '上报', step_hold: '挂起', step_resume: '恢复', step_reopen: '重办',
    step_reassign: '改派', step_clear: '报警解除', step_update: '再次报警', step_overdue: '超时', step_supervise: '督办',
    step_acknowledge: '确认', step_summon: '吹哨', step_report: '报到', step_done: '部门办结', step_extend: '申请延期',
    step_approve_extension: '批准延期', step_flapping: '反复报警', step_storm: '同类报警并为一件',
    accept: '接单', resolve: '办结', evaluate: '评单', hold: '挂起', resume: '恢复', reopen: '重办', escalate: '上报',
    dispatch: '派单', review: '考单', acknowledge: '确认', assign: '派人',
    escalatedAway: '已上报县级（只读）', note: '处理说明', reason: '原因',
    satisfied: '满意', neutral: '一般', unsatisfied: '不满意',
    checksLate: '摄像机巡检落后于计划：本机负载过高，迟到的巡检不会把摄像机判为离线。',
    downNow: '当前离线', checkLag: '巡检延迟', township: '乡镇', village: '村/社区', rate: '在线率', name: '名称', id: '编号', state: '状态',
    exportCsv: '导出 CSV', setMaint: '设置维护', end: '结束', maintenanceTitle: '维护窗口',
    backlogTrend: '积压变化（每日零点，计至考单）', backlog: '积压', over7d: '超7天', over30d: '超30天', total: '合计',
    figuresMissing: '数据不全：以下中心的数据未计入本页', hubNamed: '所属中心', noHub: '未知所属中心',
    // the wall
    tree: '摄像机目录', treeSearch: '搜索摄像机、村、乡镇', stateFilter: '状态筛选', layoutLabel: '画面布局',
    page: '页', prevPage: '上一页', nextPage: '下一页', tour: '轮巡', tourStop: '停止轮巡', tourEvery: '间隔（秒）',
    saveLayout: '保存布局', layoutName: '布局名称', savedLayouts: '已存布局', deleteLayout: '删除', layoutSaved: '布局已保存',
    mute: '静音', unmute: '取消静音', muted: '已静音', soundOn: '报警声音开', enableSound: '点击启用报警声音',
    detail: '事件详情', close: '关闭', device: '设备', deadline: '时限', owner: '责任单位', level: '层级', history: '处理记录',
    showCamera: '调看画面', keyCrossing: '重点路口', countyLevel: '县级', noIncidents: '暂无待办事件',
    fps: '帧/秒', dropHere: '拖放摄像机到此', emptyTile: '空闲画面',
    // uptime
    worstFirst: '按在线率从低到高', outages30: '30天内离线次数', downFor: '已离线', cause: '原因', outages: '离线次数',
    timeline: '离线时段', range24h: '24小时', range7d: '7天', range30d: '30天', maintDevice: '设备',
    maintFrom: '开始时间', maintUntil: '结束时间', maintNote: '说明', save: '保存', cancel: '取消',
    maintBy: '设置人', noneDown: '当前没有离线的摄像机', perCamera: '各摄像机在线率', rangeLabel: '统计区间',
    notifyOn: '开启桌面通知',
    role_operator: '县级值班', role_admin: '管理员', role_township: '乡镇', role_technician: '运维', role_village: '村/社区', role_department: '部门',
  },
  en: {
    login: 'Enter your access token', tokenLabel: 'Access token', enter: 'Enter', badToken: 'Token not valid',
    lost: 'Connection to the hub lost since', reconnecting: 'reconnecting; pictures and states cannot be trusted', unknownState: 'state unknown', hubDown: 'hub unreachable', deptDesk: 'Department desk', summonedAt: 'summoned', reportBy: 'report in by', reported: 'reported in', doneAt: 'done', waitReport: 'to report in', waitDone: 'to finish', noSummons: 'No incident has summoned this department', deptOnly: 'This page is for summoned departments', workbench: 'on the workbench', seen: 'Seen', more: 'More actions',
    online: 'online', degraded: 'degraded', offline: 'offline', unknown: 'state unknown', maintenance: 'maintenance',
    opened: 'to dispatch', dispatched: 'to accept', accepted: 'in hand', resolved: 'to evaluate', evaluated: 'to review', reviewed: 'reviewed', held: 'held',
    critical: 'critical', major: 'major', minor: 'minor',
    wall: 'Wall', county: 'County workbench', desk: 'Desk', uptime: 'Uptime', stats: 'Review board', incidents: 'Incidents', nav: 'Pages',
    cameras: 'Cameras', sensors: 'Sensors', since: 'Since', left: 'left', overdue: 'overdue', overdueBy: 'overdue by', offlineSince: 'offline since',
    system: 'system', lang: '中文', langAria: '切换到中文', all: 'All', search: 'Search', updated: 'updated',
    step_open: 'opened', step_create: 'raised', step_dispatch: 'dispatch', step_accept: 'accept', step_assign: 'assign', step_resolve: 'resolve',
    step_evaluate: 'evaluate', step_review: 'review', step_escalate: 'escalate', step_hold: 'hold', step_resume: 'resume', step_reopen: 'reopen',
    step_reassign: 'reassign', step_clear: 'alarm cleared', step_update: 'alarm again', step_overdue: 'overdue', step_supervise: 'supervised',
    step_acknowledge: 'acknowledged', step_summon: 'summon', step_report: 'report in', step_done: 'department done', step_extend: 'extension asked',
    step_approve_extension: 'extension approved', step_flapping: 'flapping', step_storm: 'storm: one incident',
    accept: 'Accept', resolve: 'Resolve', evaluate: 'Evaluate', hold: 'Hold', resume: 'Resume', reopen: 'Reopen', escalate: 'Escalate',
    dispatch: 'Dispatch', review: 'Review', acknowledge: 'Acknowledge', assign: 'Assign',
    escalatedAway: 'Escalated to the county (read-only)', note: 'What was done', reason: 'Reason',
    satisfied: 'satisfied', neutral: 'neutral', unsatisfied: 'unsatisfied',
    checksLate: 'Camera checks are behind schedule: the hub is overloaded; a late check never marks a camera offline.',
    downNow: 'Down now', checkLag: 'Check lag', township: 'Township', village: 'Village', rate: 'Online rate', name: 'Name', id: 'ID', state: 'State',
    exportCsv: 'Export CSV', setMaint: 'Set maintenance', end: 'End', maintenanceTitle: 'Maintenance windows',
    backlogTrend: 'Backlog over time (at each midnight, counted until reviewed)', backlog: 'Backlog', over7d: 'Over 7 days', over30d: 'Over 30 days', total: 'Total:',
    figuresMissing: 'Incomplete: the figures of these hubs are not on this page', hubNamed: 'hub', noHub: 'no hub seen',
    tree: 'Cameras', treeSearch: 'Search cameras, villages, townships', stateFilter: 'State filter', layoutLabel: 'Layout',
    page: 'page', prevPage: 'Previous page', nextPage: 'Next page', tour: 'Tour', tourStop: 'Stop tour', tourEvery: 'Every (s)',
    saveLayout: 'Save layout', layoutName: 'Layout name', savedLayouts: 'Saved layouts', deleteLayout: 'Delete', layoutSaved: 'Layout saved',
    mute: 'Mute', unmute: 'Unmute', muted: 'Muted', soundOn: 'Alarm sound on', enableSound: 'Click to enable alarm sound',
    detail: 'Incident', close: 'Close', device: 'Device', deadline: 'Deadline', owner: 'Owner', level: 'Level', history: 'History',
    showCamera: 'Show camera', keyCrossing: 'key crossing', countyLevel: 'county', noIncidents: 'Nothing waiting',
    fps: 'fps', dropHere: 'Drop a camera here', emptyTile: 'Empty tile',
    worstFirst: 'Worst first', outages30: 'Outages in 30 days', downFor: 'Down for', cause: 'Cause', outages: 'Outages',
    timeline: 'Outages', range24h: '24 h', range7d: '7 d', range30d: '30 d', maintDevice: 'Device',
    maintFrom: 'From', maintUntil: 'Until', maintNote: 'Note', save: 'Save', cancel: 'Cancel',
    maintBy: 'Set by', noneDown: 'No camera is down', perCamera: 'Uptime per camera', rangeLabel: 'Range',
    notifyOn: 'Turn on notifications',
    role_operator: 'county operator', role_admin: 'admin', role_township: 'township', role_technician: 'technician', role_village: 'village', role_department: 'department',
  },
};

// Camera and sensor causes, as the hub reports them.
export const causes = {
  zh: {
    stalled: '无视频帧', not_found: '地址不存在', refused: '连接被拒绝', timeout: '连接超时', auth: '用户名或密码错误',
    reset: '连接被中断', unreachable: '网络不可达', tls: '加密连接失败', busy: '设备忙（会话已满）',
    no_video: '无视频流', low_fps: '帧率过低', protocol: '协议错误', loss: '丢包严重', no_keyframe: '无关键帧',
    recovered: '已恢复', maintenance: '维护中', last_will: '设备掉线', status: '设备上报', silent: '设备长时间无上报',
  },
  en: {
    stalled: 'no frames', not_found: 'address not found', refused: 'connection refused', timeout: 'connection timed out',
    reset: 'connection reset', unreachable: 'network unreachable', tls: 'TLS failed', busy: 'device busy (sessions full)',
    auth: 'wrong user name or password', no_video: 'no video stream', low_fps: 'frame rate too low', protocol: 'protocol error',
    loss: 'heavy packet loss', no_keyframe: 'no keyframe', recovered: 'recovered', maintenance: 'maintenance',
    last_will: 'device dropped off', status: 'device report', silent: 'device silent',
  },
};

const state = { opened: '待派单', dispatched: '待接单', accepted: '办理中', resolved: '待评单', evaluated: '待考单', reviewed: '已考单', held: '挂起' };
const act = { dispatch: '派单', accept: '接单', assign: '派人', resolve: '办结', evaluate: '评单', review: '考单', escalate: '上报',
  hold: '挂起', resume: '恢复', reopen: '重办', reassign: '改派', acknowledge: '确认', summon: '吹哨', report: '报到', done: '办结',
  extend: '申请延期', approve_extension: '批准延期' };
const states = (list) => list.split(/,\s*/).map((s) => state[s] || s).join('、');

// The API's refusals a person meets, in Chinese. Reasons already written
// "中文 / English" are split by the page instead.
export const errorPatterns = [
  [/^cannot (\w+) an incident that is (\w+) \(allowed from (.*)\)$/, (m) => `事件当前为“${state[m[2]] || m[2]}”，不能${act[m[1]] || m[1]}（仅在${states(m[3])}时可以）`],
  [/^resolve needs a note/, '办结需要填写处理说明'],
  [/^evaluate needs a rating/, '评单需要选择满意、一般或不满意'],
  [/^evaluate needs (\w+)/, (m) => `评单缺少：${{ rating: '评价', method: '回访方式', asked: '回访对象' }[m[1]] || m[1]}`],
  [/^hold needs a reason/, '挂起需要选择原因'],
  [/^already with the county/, '事件已在县级'],
  [/^accept first/i, '请先接单'],
  [/^incident (\S+) belongs to township (\S+)/, (m) => `事件 ${m[1]} 属于其他乡镇，无权操作`],
  [/^incident (\S+) not found/, (m) => `事件 ${m[1]} 不存在或无权查看`],
  [/^technicians have no incident actions/, '运维人员不能处理事件'],
  [/^unknown township (\S+)/, (m) => `乡镇 ${m[1]} 不存在`],
  [/^unknown village (\S+)/, (m) => `村/社区 ${m[1]} 不存在`],
  [/^body is not JSON/, '提交的内容格式有误'],
  [/^(note|body).*(too long|over|limit)/i, '内容超过长度上限'],
  [/^a window is for a device or a village, not both/, '维护窗口只能指定设备或村，不能同时指定'],
  [/^name a device or a village/, '请选择设备或村'],
  [/^until must be after from/, '结束时间必须晚于开始时间'],
  [/^to must be after from/, '结束时间必须晚于开始时间'],
  [/maintenance for its own villages only/, '乡镇只能为本乡镇的设备设置维护'],
  [/ends maintenance of its own villages only/, '乡镇只能结束本乡镇设备的维护'],
  [/^not allowed to set maintenance/, '无权设置维护'],
  [/^maintenance window (\S+) not found/, '维护窗口不存在'],
  [/^device (\S+) not found/, (m) => `设备 ${m[1]} 不存在`],
  [/^village (\S+) not found/, (m) => `村/社区 ${m[1]} 不存在`],
  [/sees its own township's uptime only/, '乡镇只能查看本乡镇的在线率'],
  [/^the audit log is the county's/, '审计记录仅限县级查看'],
  [/^(\w+) not available$/, '服务暂不可用'],
  [/^missing bearer token|^unknown token|^unauthorized$/, '令牌无效或已过期'],
  [/^([^/]*[\u4e00-\u9fff][^/]*?)\s+\/\s+.*$/, (m) => m[1]],
];

// The engine's own history notes, in Chinese.
export const systemNotes = [
  [/^deadline (.*) passed$/, (m) => `已超过时限（${m[1]}）`],
  [/^automatic dispatch to the township desk$/, '自动派单至乡镇'],
  [/^the alarm cleared by itself; a person still resolves it$/, '报警已自行解除，仍需人工办结'],
  [/^alarm came back (\d+) times within (.*)$/, (m) => `${m[2]} 内反复报警 ${m[1]} 次`],
  [/^([^/]*[\u4e00-\u9fff][^/]*?)\s+\/\s+.*$/, (m) => m[1]],
];
