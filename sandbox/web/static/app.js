'use strict';
// The sandbox page. It draws what one person sees of the Slack stand-in, and
// the outside world beside it, from the state the server pushes (server-sent
// events). Every gesture is a POST that the server turns into what Slack,
// GitHub or Heroku would do. Nothing is fetched from anywhere else.

const $ = (sel, el = document) => el.querySelector(sel);
const $$ = (sel, el = document) => Array.from(el.querySelectorAll(sel));
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

let S = null;                 // the newest state
let me = localStorage.getItem('rotabot-sandbox-me') || '';
let where = '';               // a channel id, or 'app'
let appTab = 'messages';      // 'messages' | 'home'
let tab = 'github';
let source = null;
const openThreads = new Set();
const notices = {};           // person|channel → [{at, text}]: Slackbot's answers, on this page only
const seenDM = {};            // person → messages seen in their DM
const drawn = {};             // area → what was last drawn there
let modalKey = '';
// After a gesture (a command sent, a button pressed, a form submitted) the page
// shows its answer: the newest message of the channel that is new or changed
// since, revealed in the message list, until the person scrolls themselves.
let reveal = null;            // {where, base: ts → message as it was, ts: the message shown}
let atEndBefore = true;       // the list was scrolled to its end before its size changed

// ---- mrkdwn, as Slack formats it ----

const unslack = s => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const boundary = ch => ch === undefined || /[\s\p{P}\p{S}]/u.test(ch) && !'*_~'.includes(ch);

// closing finds the mark closing the one at s[i]: the opening mark starts a
// word, the closing one ends a word on the same line.
function closing(s, i) {
  const mark = s[i];
  if (i > 0 && !boundary(s[i - 1])) return -1;
  if (i + 1 >= s.length || /[ \n]/.test(s[i + 1]) || s[i + 1] === mark) return -1;
  for (let j = i + 2; j < s.length; j++) {
    if (s[j] === '\n') return -1;
    if (s[j] === mark && s[j - 1] !== ' ' && boundary(s[j + 1])) return j;
  }
  return -1;
}

function mention(id, sigil, label) {
  const name = S.names[id] || (label ? sigil + label.replace(/^[@#]/, '') : sigil + id);
  return `<span class="mention${id === me ? ' me' : ''}">${esc(name)}</span>`;
}

function control(c) {
  const bar = c.indexOf('|');
  const target = bar < 0 ? c : c.slice(0, bar);
  const label = bar < 0 ? '' : c.slice(bar + 1);
  if (target.startsWith('@')) return mention(target.slice(1), '@', label);
  if (target.startsWith('#')) return mention(target.slice(1), '#', label);
  if (target.startsWith('!subteam^')) return mention(target.slice(9), '@', label);
  if (target.startsWith('!')) return `<span class="mention">@${esc(target.slice(1))}</span>`;
  const href = unslack(target);
  const text = label ? unslack(label) : href;
  if (!/^(https?:|mailto:)/i.test(href)) return esc(text);
  return `<a href="${esc(href)}" target="_blank" rel="noopener noreferrer">${esc(text)}</a>`;
}

function inline(s) {
  let out = '';
  let plain = '';
  const flush = () => { if (plain) { out += esc(unslack(plain)); plain = ''; } };
  for (let i = 0; i < s.length;) {
    const rest = s.slice(i);
    if (rest.startsWith('```')) {
      const end = rest.indexOf('```', 3);
      if (end >= 0) {
        plain = plain.replace(/\n$/, ''); // a block starts its own line
        flush();
        out += `<pre>${esc(unslack(rest.slice(3, end).replace(/^\n|\n$/g, '')))}</pre>`;
        i += end + 3;
        if (s[i] === '\n') i++; // the block ends the line
        continue;
      }
    } else if (rest[0] === '`') {
      const m = rest.slice(1).search(/[`\n]/);
      if (m > 0 && rest[1 + m] === '`') {
        flush();
        out += `<code>${esc(unslack(rest.slice(1, 1 + m)))}</code>`;
        i += m + 2;
        continue;
      }
    } else if (rest[0] === '<') {
      const m = rest.search(/[>\n]/);
      if (m > 0 && rest[m] === '>') {
        flush();
        out += control(rest.slice(1, m));
        i += m + 1;
        continue;
      }
    } else if ('*_~'.includes(rest[0])) {
      const end = closing(s, i);
      if (end > 0) {
        flush();
        const tag = { '*': 'b', '_': 'i', '~': 's' }[rest[0]];
        out += `<${tag}>${inline(s.slice(i + 1, end))}</${tag}>`;
        i = end + 1;
        continue;
      }
    }
    plain += s[i];
    i++;
  }
  flush();
  return out;
}

const md = text => `<span class="md">${inline(text || '')}</span>`;
const plainOf = t => (t && t.text) || '';
const textObj = t => !t ? '' : t.type === 'mrkdwn' ? md(t.text) : `<span>${esc(t.text)}</span>`;

// ---- Block Kit ----

// blocks draws a block list; where says where its buttons are: {channel, ts}
// for a message, {view, errors} for a modal or App Home.
function blocks(list, where) {
  return (list || []).map(b => block(b, where)).join('');
}

function block(b, where) {
  switch (b.type) {
    case 'header': return `<div class="bk-header">${esc(plainOf(b.text))}</div>`;
    case 'section': {
      let h = b.text ? textObj(b.text) : '';
      if (b.fields) h += `<div class="bk-fields">${b.fields.map(f => `<div>${textObj(f)}</div>`).join('')}</div>`;
      if (b.accessory) return `<div class="bk-section with-acc"><div>${h}</div>${element(b.accessory, b, where)}</div>`;
      return `<div class="bk-section">${h}</div>`;
    }
    case 'context':
      return `<div class="bk-context">${(b.elements || []).map(e => e.type === 'image'
        ? `<span class="bk-image">[${esc(e.alt_text || 'image')}]</span>` : `<span>${textObj(e)}</span>`).join('')}</div>`;
    case 'divider': return '<hr class="bk-divider">';
    case 'actions': return `<div class="bk-actions">${(b.elements || []).map(e => element(e, b, where)).join('')}</div>`;
    case 'input': return input(b, where);
    case 'image': return `<div class="bk-image">[image: ${esc(b.alt_text || '')}]</div>`;
    default: return '';
  }
}

function element(e, b, where) {
  if (e.type !== 'button') return `<span class="bk-image">[${esc(e.type)}]</span>`;
  const data = {
    action: e.action_id, block: b.block_id, channel: where.channel || '', ts: where.ts || '', view: where.view || '',
    style: e.style || '', url: e.url || '', confirm: e.confirm ? JSON.stringify(e.confirm) : '',
  };
  const attrs = Object.entries(data).filter(([, v]) => v).map(([k, v]) => `data-${k}="${esc(v)}"`).join(' ');
  return `<button type="button" class="bk-button${e.style ? ' ' + e.style : ''}" ${attrs}>${esc(plainOf(e.text))}</button>`;
}

function input(b, where) {
  const el = b.element || {};
  const err = (where.errors || {})[b.block_id] || '';
  const id = `in-${b.block_id}-${el.action_id}`;
  const ph = el.placeholder ? ` placeholder="${esc(plainOf(el.placeholder))}"` : '';
  const common = `id="${esc(id)}" data-block="${esc(b.block_id)}" data-action="${esc(el.action_id)}"${ph}`;
  let field;
  if (el.type === 'plain_text_input' || !el.type) {
    field = el.multiline ? `<textarea rows="3" ${common}></textarea>` : `<input type="text" spellcheck="false" autocomplete="off" ${common}>`;
  } else {
    field = `<div class="bk-image">[${esc(el.type)} is not drawn by the sandbox]</div>`;
  }
  return `<div class="bk-input${err ? ' error' : ''}" data-for="${esc(b.block_id)}"${b.optional ? ' data-optional="1"' : ''}>` +
    `<label for="${esc(id)}">${esc(plainOf(b.label))}${b.optional ? ' <span class="note">(optional)</span>' : ''}</label>${field}` +
    `${b.hint ? `<div class="bk-hint">${esc(plainOf(b.hint))}</div>` : ''}<div class="bk-error">${esc(err)}</div></div>`;
}

// ---- talking to the server ----

async function post(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let data = {};
  try { data = await r.json(); } catch (_) { /* not JSON */ }
  if (!r.ok) throw new Error(data.error || `${r.status} ${r.statusText}`);
  return data;
}

function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

// slackbot shows an answer only this person sees, as Slack does when a command fails.
function slackbot(channel, text) {
  const k = me + '|' + channel;
  (notices[k] = notices[k] || []).push({ at: Date.now() / 1000, text });
  drawMain(true);
}

function connect() {
  if (source) source.close();
  source = new EventSource('/api/events?user=' + encodeURIComponent(me));
  source.addEventListener('state', ev => {
    S = JSON.parse(ev.data);
    draw();
  });
}

// ---- drawing ----

function draw() {
  if (!where) where = S.channels.length ? S.channels[0].id : 'app';
  drawPeople();
  drawNav();
  drawMain(false);
  drawModal();
  drawBot();
  drawPanel(false);
}

function changed(area, value) {
  const key = JSON.stringify(value);
  if (drawn[area] === key) return false;
  drawn[area] = key;
  return true;
}

function drawPeople() {
  if (!changed('people', [S.people, me])) return;
  $('#people').innerHTML = S.people.map(p =>
    `<button type="button" class="person${p.id === me ? ' me' : ''}" data-user="${esc(p.id)}" title="${esc(p.name + ' — ' + p.role)}">${esc(p.name)}<small>${esc(p.role)}</small></button>`).join('');
}

function drawNav() {
  const dmCount = S.dm.messages.length;
  if (where === 'app' && appTab === 'messages') seenDM[me] = dmCount;
  const unread = Math.max(0, dmCount - (seenDM[me] || 0));
  if (!changed('nav', [S.channels.map(c => [c.id, c.name]), where, unread])) return;
  const link = (id, label, extra = '') =>
    `<a data-where="${esc(id)}" class="${where === id ? 'current' : ''}"><span>${label}</span>${extra}</a>`;
  $('#nav').innerHTML = '<h2>Channels</h2>' + S.channels.map(c => link(c.id, '# ' + esc(c.name))).join('') +
    '<h2>Apps</h2>' + link('app', '🤖 ' + esc(S.dm.name), unread ? `<span class="count">${unread}</span>` : '');
}

function tsTime(ts) {
  const d = new Date(parseFloat(ts) * 1000);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function msgHTML(m, channel) {
  const body = m.blocks && m.blocks.length ? blocks(m.blocks, { channel, ts: m.ts }) : `<div class="bk-section">${md(m.text)}</div>`;
  let replies = '';
  if (m.replies && m.replies.length) {
    const open = openThreads.has(m.ts);
    const n = m.replies.length;
    replies = `<button type="button" class="replies-link" data-thread="${esc(m.ts)}">${open ? 'Hide ' : ''}${n} ${n === 1 ? 'reply' : 'replies'}</button>` +
      (open ? `<div class="thread">${m.replies.map(r => msgHTML(r, channel)).join('')}</div>` : '');
  }
  return `<div class="msg${m.ephemeral ? ' eph' : ''}" data-ts="${esc(m.ts)}"><div class="avatar">R</div><div>` +
    (m.ephemeral ? '<div class="only">Only visible to you</div>' : '') +
    `<div class="who">${esc(m.author)}<span class="app">APP</span><time>${tsTime(m.ts)}</time></div>${body}${replies}</div></div>`;
}

function noticeHTML(n) {
  return `<div class="msg eph notice"><div class="avatar slackbot">S</div><div><div class="only">Only visible to you</div>` +
    `<div class="who">Slackbot<time>${tsTime(n.at)}</time></div><div class="bk-section">${esc(n.text)}</div></div></div>`;
}

function current() {
  if (where === 'app') return S.dm;
  return S.channels.find(c => c.id === where) || S.channels[0];
}

function drawMain(force) {
  const ch = current();
  const app = where === 'app';
  const home = app && appTab === 'home';
  const ns = notices[me + '|' + (app ? 'dm' : ch.id)] || [];
  const view = home ? S.home : ch.messages;
  if (!changed('main', [where, appTab, me, view, ns, [...openThreads]]) && !force) return;
  $('#channel-title').textContent = app ? S.dm.name : '# ' + ch.name;
  $('#home-tabs').innerHTML = app ? ['home', 'messages'].map(t =>
    `<button type="button" data-apptab="${t}" class="${appTab === t ? 'on' : ''}">${t === 'home' ? 'Home' : 'Messages'}</button>`).join('') : '';
  $('#messages').hidden = home;
  $('#home').hidden = !home;
  $('#composer').hidden = home;
  if (home) {
    $('#home').innerHTML = S.home ? blocks(S.home.blocks, { view: S.home.id }) : '<div class="empty">Opening rotabot\'s Home…</div>';
    return;
  }
  const box = $('#messages');
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const items = ch.messages.map(m => ({ at: parseFloat(m.ts), html: msgHTML(m, ch.id || 'dm') }))
    .concat(ns.map(n => ({ at: n.at, html: noticeHTML(n) })))
    .sort((a, b) => a.at - b.at);
  box.innerHTML = items.length ? items.map(i => i.html).join('') :
    `<div class="empty">${app ? 'This is your conversation with rotabot. Type /rotate help.' : 'No messages yet. Type /rotate help below.'}</div>`;
  if (atEnd || force) box.scrollTop = box.scrollHeight;
  if (reveal && reveal.where === where) showAnswer(ch);
  atEndBefore = box.scrollHeight - box.scrollTop - box.clientHeight < 2;
  $('#box').placeholder = app ? 'Message rotabot — /rotate help' : `Message #${ch.name} — type /rotate …`;
  drawHints();
}

// The thread under a message is not the message: a note in it does not make
// the card its answer.
const msgKey = m => JSON.stringify([m.text, m.blocks, m.edited]);

// expectAnswer notes the channel as it is before a gesture.
function expectAnswer() {
  const ch = current();
  reveal = { where, base: new Map(ch.messages.map(m => [m.ts, msgKey(m)])), ts: '' };
}

// showAnswer reveals the newest message that is new or changed since the gesture.
function showAnswer(ch) {
  const changed = ch.messages.filter(m => reveal.base.get(m.ts) !== msgKey(m));
  const notes = notices[me + '|' + (where === 'app' ? 'dm' : ch.id)] || [];
  const newest = changed.length ? changed[changed.length - 1] : null;
  if (notes.length && (!newest || notes[notes.length - 1].at > parseFloat(newest.ts))) reveal.ts = 'notice';
  else if (newest) reveal.ts = newest.ts;
  revealNow();
}

// revealNow scrolls the message list so the answer is in view: all of it when
// it fits, else its top (a card's status) at the top of the list.
function revealNow() {
  const box = $('#messages');
  const el = reveal.ts === 'notice' ? $$(':scope > .msg.notice', box).pop()
    : $$(':scope > .msg', box).find(x => x.dataset.ts === reveal.ts);
  if (el) revealEl(el);
}

// revealEl scrolls the message list so el is in view: all of it when it fits,
// else its top at the top of the list.
function revealEl(el) {
  const box = $('#messages');
  const b = box.getBoundingClientRect();
  const r = el.getBoundingClientRect();
  if (r.height > b.height || r.top < b.top) box.scrollTop += r.top - b.top;
  else if (r.bottom > b.bottom) box.scrollTop += r.bottom - b.bottom;
}

// The hints show while the box is empty or holds the start of a command, as
// Slack's autocomplete does: one row, those that start with what is typed.
function drawHints() {
  const all = ['/rotate help', '/rotate list', '/rotate expiring', '/rotate status r1'];
  for (const s of S.secrets.slice(0, 2)) all.push(`/rotate ${s.name}`, `/rotate ${s.name} --dry-run`);
  const typed = $('#box').value.trim();
  const hints = all.filter(h => h.startsWith(typed) && h !== typed);
  if (!changed('hints', hints)) return;
  $('#hints').innerHTML = hints.length ? 'Try: ' + hints.map(h => `<button type="button" data-hint="${esc(h)}">${esc(h)}</button>`).join('') : '';
}

function drawModal() {
  const v = S.modal;
  const layer = $('#modal-layer');
  if (!v) {
    layer.hidden = true;
    modalKey = '';
    return;
  }
  const key = v.id + '|' + v.hash;
  if (key !== modalKey) {
    const typed = {};
    if (modalKey.split('|')[0] === v.id) for (const el of $$('[data-action]', $('#modal'))) typed[el.id] = el.value;
    $('#modal').innerHTML = `<div class="dlg-head"><h2>${esc(v.title)}</h2><button type="button" class="dlg-x" data-close aria-label="Close">×</button></div>` +
      `<div class="dlg-body">${blocks(v.blocks, { view: v.id, errors: v.errors })}</div>` +
      `<div class="dlg-foot"><button type="button" class="cancel" data-close>${esc(v.close || 'Cancel')}</button>` +
      (v.submit ? `<button type="button" class="submit">${esc(v.submit)}</button>` : '') + '</div>';
    for (const [id, val] of Object.entries(typed)) { const el = document.getElementById(id); if (el) el.value = val; }
    modalKey = key;
    layer.hidden = false;
    const first = $('#modal input, #modal textarea');
    if (first) first.focus();
    return;
  }
  // The same view: only its errors may have changed (response_action: errors).
  for (const wrap of $$('.bk-input', $('#modal'))) {
    const err = (v.errors || {})[wrap.dataset.for] || '';
    if (wrap.dataset.local && !err) continue;
    wrap.classList.toggle('error', !!err);
    $('.bk-error', wrap).textContent = err;
  }
  const submit = $('#modal .submit');
  if (submit) submit.disabled = false;
}

function drawBot() {
  if (!changed('bot', S.bot)) return;
  const pill = $('#bot-state');
  pill.className = 'pill ' + S.bot.state;
  pill.textContent = 'bot ' + S.bot.state;
  pill.title = S.bot.detail || '';
  $('#restart').disabled = S.bot.state === 'restarting';
}

// ---- the outside world ----

const TABS = [['github', 'GitHub'], ['heroku', 'Heroku'], ['infisical', 'Infisical'], ['audit', 'Audit'], ['faults', 'Faults'], ['calls', 'Calls']];

function drawPanel(force) {
  if (changed('tabs', tab) || force) {
    $('#tabs').innerHTML = TABS.map(([k, l]) => `<button type="button" data-tab="${k}" class="${tab === k ? 'on' : ''}">${l}</button>`).join('');
    $('#panel').innerHTML = '';
    drawn.panel = '';
    if (tab === 'github') $('#panel').innerHTML = mintForm() + '<div id="live"></div>';
    else $('#panel').innerHTML = '<div id="live"></div>';
    if (tab === 'github') drawMinted();
  }
  const live = {
    github: () => [S.github, githubHTML],
    heroku: () => [[S.heroku, S.heroku_keys], herokuHTML],
    infisical: () => [S.infisical, vaultHTML],
    audit: () => [S.channels.find(c => c.id === S.audit_channel), auditHTML],
    faults: () => [[S.faults, S.bot], faultsHTML],
    calls: () => [S.activity, callsHTML],
  }[tab]();
  if (changed('panel', [tab, live[0]])) $('#live').innerHTML = live[1](live[0]);
}

function mintForm() {
  const secrets = S.secrets.map(s => `<option value="${esc(s.name)}">${esc(s.name)}</option>`).join('');
  const kind = S.secrets.length ? S.secrets[0].kind : 'fine-grained';
  return `<h3>Make a new token on GitHub</h3>
<p class="note">As a person would on github.com: the new token is shown once, to copy into rotabot's form.</p>
<form id="mint">
  <label for="mint-secret">for</label><select id="mint-secret" name="secret">${secrets}</select>
  <label for="mint-kind">kind</label><select id="mint-kind" name="kind">
    <option value="fine-grained"${kind === 'fine-grained' ? ' selected' : ''}>fine-grained (github_pat_…)</option>
    <option value="classic"${kind === 'classic' ? ' selected' : ''}>classic (ghp_…)</option></select>
  <label for="mint-variant">made</label><select id="mint-variant" name="variant">
    <option value="right">as the card asks</option>
    <option value="wrong-login">signed in as someone else</option>
    <option value="expired">already expired</option>
    <option value="no-access">without access to the repositories</option></select>
  <button type="submit">Generate token</button>
</form>
<div id="minted" hidden></div>`;
}

let minted = null;
function drawMinted() {
  const box = $('#minted');
  if (!box) return;
  box.hidden = !minted;
  if (!minted) {
    box.innerHTML = '';
    return;
  }
  box.innerHTML = `<b>New ${esc(minted.kind)} token for ${esc(minted.secret)}</b> — login ${esc(minted.login)}, expires ${esc(minted.expires)} (${esc(minted.note)}).
<div class="note">Copy it now: GitHub will not show it again. Paste it in rotabot's form, never in a message.</div>
<code id="minted-token">${esc(minted.token)}</code>
<div class="row"><span class="fp">${esc(minted.fingerprint)}</span><span><button type="button" class="small-btn" id="copy">Copy</button><button type="button" class="small-btn" id="forget">Hide it</button></span></div>`;
}

function tag(status) { return `<span class="tag ${esc(status)}">${esc(status)}</span>`; }

function githubHTML(g) {
  const tokens = g.tokens.map(t => `<div class="card"><div class="row"><span><span class="fp">${esc(t.fingerprint)}</span> ${esc(t.kind)} · ${esc(t.login)}</span>${tag(t.status)}</div>
<div class="note">expires ${esc(t.expires)}${t.repos && t.repos.length ? ' · repositories ' + esc(t.repos.join(', ')) : ''}${t.scopes && t.scopes.length ? ' · scopes ' + esc(t.scopes.join(', ')) : ''}</div>
${t.use ? `<div class="note"><span class="tag current">current</span> ${esc(t.use)}</div>` : ''}${t.note && !t.use ? `<div class="note">${esc(t.note)}</div>` : ''}</div>`).join('');
  return `<h3>Secrets</h3>${ghSecretsHTML(g.secrets)}<h3>Personal access tokens (newest first)</h3>
<p class="note">Every token of this GitHub, by fingerprint: the secrets' tokens, rotabot's own GITHUB_TOKEN, those made above,
and a few ready-made for rehearsals — one of each kind rotabot's token form refuses (another account's, expired, revoked,
blind to the repositories).</p>${tokens}`;
}

// GitHub's secrets by scope, as each settings page lists them: names, when
// each was last written and (an organisation's) who may read it; the value by
// the fingerprint of what a workflow run or Dependabot would read.
const ghScopes = [
  ['actions', 'Repository Actions secrets'],
  ['environment', 'Environment secrets'],
  ['org', 'Organisation Actions secrets'],
  ['dependabot', 'Dependabot secrets of a repository'],
  ['dependabot_org', 'Dependabot secrets of an organisation'],
];
function ghSecretsHTML(secrets) {
  if (!secrets.length) return '<p class="note">No GitHub secret written yet.</p>';
  return ghScopes.filter(([scope]) => secrets.some(s => s.scope === scope)).map(([scope, title]) =>
    `<div class="card" data-scope="${esc(scope)}"><b>${esc(title)}</b><table class="kv">${secrets.filter(s => s.scope === scope).map(s =>
      `<tr><td>${esc(s.target)} · ${esc(s.name)}${s.visibility ? ` <span class="tag">${esc(s.visibility)}${s.selected && s.selected.length ? ': ' + esc(s.selected.join(', ')) : ''}</span>` : ''}` +
      `<div><span class="fp">${esc(s.fingerprint)}</span> <span class="note">updated ${esc(s.updated)}</span></div></td></tr>`).join('')}</table></div>`).join('');
}

function herokuHTML([apps, keys]) {
  return herokuKeysHTML(keys) + '<p class="note">Config vars by fingerprint. “change” sets a made-up value by hand, as heroku config:set would: drift for the bot\'s read-back to find.</p>' +
    apps.map(a => `<div class="card" data-app="${esc(a.name)}"><div class="row"><b>${esc(a.name)}</b><span class="note">${esc(a.dynos.join(', '))}</span></div>
<table class="kv">${a.vars.map(v => `<tr><td>${esc(v.key)}</td><td><span class="fp">${esc(v.fingerprint)}</span><button type="button" class="small-btn" data-drift="${esc(a.name)}" data-key="${esc(v.key)}" title="heroku config:set ${esc(v.key)}=… by hand">change</button></td></tr>`).join('')}</table>
<table class="kv releases">${a.releases.map(r => `<tr><td>v${r.version} ${esc(r.description)} <span class="note">${esc(r.user)}</span></td><td><span class="tag${r.current ? ' current' : r.status === 'failed' ? ' revoked' : ''}">${r.current ? 'current' : esc(r.status)}</span></td></tr>`).join('')}</table></div>`).join('');
}

// herokuKeysHTML is the account's API keys (OAuth authorizations) by fingerprint:
// a key rotabot minted appears beside the old one, which its revoke deletes.
function herokuKeysHTML(keys) {
  if (!keys || !keys.length) return '';
  return '<h3>API keys</h3><p class="note">Each key is an OAuth authorization of an account, shown by fingerprint. rotabot makes a <code>heroku-api-key</code> secret\'s new key here and deletes the old one at revoke.</p>' +
    `<table class="kv">${keys.map(k => `<tr><td>${esc(k.id)} “${esc(k.description)}” <span class="note">${esc(k.account)} · ${esc(k.scope)} · ${esc(k.created)}${k.use ? ' · ' + esc(k.use) : ''}</span></td><td><span class="fp">${esc(k.fingerprint)}</span> <span class="tag${k.status === 'deleted' ? ' revoked' : ''}">${esc(k.status)}</span></td></tr>`).join('')}</table>`;
}

function vaultHTML(secrets) {
  return '<p class="note">Every version of every secret, by fingerprint; the newest is the current value.</p>' +
    secrets.map(s => `<div class="card"><div class="row"><b>${esc(s.path === '/' ? '' : s.path)}/${esc(s.key)}</b><span class="note">${esc(s.env)}</span></div>
<div class="versions">${s.versions.map((fp, i) => `<span class="tag${i === s.versions.length - 1 ? ' current' : ''}">v${i + 1} <span class="mono">${esc(fp)}</span></span>`).join('')}</div></div>`).join('');
}

function auditHTML(ch) {
  if (!ch) return '<p class="note">The routing matrix names no audit channel: records go in the card\'s thread.</p>';
  const msgs = ch.messages.filter(m => !m.ephemeral);
  return `<p class="note">The audit trail: what the bot posted in #${esc(ch.name)}.</p>` +
    (msgs.length ? msgs.slice().reverse().map(m => `<div class="card">${m.blocks && m.blocks.length ? blocks(m.blocks, { channel: ch.id, ts: m.ts }) : md(m.text)}</div>`).join('')
      : '<p class="note">Nothing yet: a finished or rolled-back run posts its record here.</p>');
}

const FAULT_WORDS = { '': 'healthy', slow: 'slow (3 s)', down: 'down (503)', ratelimited: 'rate-limited (429)' };

function faultsHTML() {
  return `<p class="note">Make a service misbehave while you rehearse. The bot sees exactly what it would see in production.</p>
<table class="kv faults">${S.faults.map(f => `<tr class="${f.kind ? 'on' : ''}"><td>${esc(f.label)}</td><td><select data-fault="${esc(f.target)}">` +
    ['', ...f.kinds].map(k => `<option value="${k}"${k === f.kind ? ' selected' : ''}>${FAULT_WORDS[k]}</option>`).join('') + '</select></td></tr>').join('')}</table>
<h3>The bot</h3><p class="note">${esc(S.bot.state)}${S.bot.detail ? ' — ' + esc(S.bot.detail) : ''}. “Restart the bot” (top right) stops it as Heroku stops a dyno and starts it again on the same database: open runs resume where they stopped.</p>`;
}

function callsHTML(calls) {
  return '<p class="note">The newest calls the stand-ins answered (method, path, status; never a body).</p><table class="calls">' +
    calls.map(c => `<tr><td class="mono">${esc(c.time)}</td><td>${esc(c.service)}</td><td>${esc(c.method)}</td><td class="path mono">${esc(c.path)}</td>` +
      `<td class="${c.status >= 400 ? 'bad' : ''}">${c.status}</td></tr>`).join('') + '</table>';
}

// ---- gestures ----

function choose(user) {
  if (user === me) return;
  me = user;
  localStorage.setItem('rotabot-sandbox-me', me);
  openThreads.clear();
  reveal = null;
  $('#confirm-layer').hidden = true;
  modalKey = '';
  for (const k of ['people', 'main', 'nav']) drawn[k] = '';
  connect();
}

function go(to) {
  where = to;
  reveal = null;
  if (to === 'app' && appTab === 'home') post('/api/home', { user: me }).catch(e => toast(e.message));
  drawn.main = '';
  drawNav();
  drawMain(true);
}

function press(btn) {
  const d = btn.dataset;
  const send = async () => {
    if (d.url) window.open(d.url, '_blank', 'noopener');
    if (!d.view) expectAnswer();
    btn.classList.add('busy');
    try {
      await post('/api/click', { user: me, channel: d.channel, ts: d.ts, view: d.view, action_id: d.action, block_id: d.block });
    } catch (e) {
      if (d.view) toast(e.message); else slackbot(where === 'app' ? 'dm' : where, e.message);
    } finally {
      btn.classList.remove('busy');
    }
  };
  if (d.confirm) confirmThen(JSON.parse(d.confirm), send); else send();
}

function confirmThen(c, then) {
  const danger = c.style === 'danger';
  $('#confirm').innerHTML = `<div class="dlg-head"><h2>${esc(plainOf(c.title))}</h2></div><div class="dlg-body">${textObj(c.text)}</div>` +
    `<div class="dlg-foot"><button type="button" class="no">${esc(plainOf(c.deny) || 'Cancel')}</button>` +
    `<button type="button" class="yes${danger ? ' danger' : ''}">${esc(plainOf(c.confirm) || 'Yes')}</button></div>`;
  const layer = $('#confirm-layer');
  layer.hidden = false;
  $('#confirm .no').onclick = () => { layer.hidden = true; };
  $('#confirm .yes').onclick = () => { layer.hidden = true; then(); };
  $('#confirm .yes').focus();
}

async function submitModal() {
  const v = S.modal;
  if (!v) return;
  const values = {};
  let missing = false;
  for (const wrap of $$('.bk-input', $('#modal'))) {
    const el = $('[data-action]', wrap);
    if (!el) continue;
    (values[el.dataset.block] = values[el.dataset.block] || {})[el.dataset.action] = el.value;
    if (!el.value && !wrap.dataset.optional) {
      missing = true;
      wrap.classList.add('error');
      wrap.dataset.local = '1';
      $('.bk-error', wrap).textContent = 'Please complete this required field.';
    }
  }
  if (missing) return;
  const submit = $('#modal .submit');
  submit.disabled = true;
  if (where !== 'app' || appTab === 'messages') expectAnswer();
  try {
    await post('/api/submit', { user: me, view: v.id, values });
  } catch (e) {
    toast(e.message);
    submit.disabled = false;
  }
}

async function command(ev) {
  ev.preventDefault();
  const box = $('#box');
  const text = box.value.trim();
  if (!text) return;
  const channel = where === 'app' ? 'dm' : where;
  box.value = '';
  drawHints();
  expectAnswer();
  try {
    await post('/api/command', { user: me, channel, text });
  } catch (e) {
    slackbot(channel, e.message);
  }
}

document.addEventListener('click', ev => {
  const t = ev.target;
  let el;
  if ((el = t.closest('.person'))) return choose(el.dataset.user);
  if ((el = t.closest('#nav a'))) return go(el.dataset.where);
  if ((el = t.closest('[data-apptab]'))) { appTab = el.dataset.apptab; return go('app'); }
  if ((el = t.closest('.bk-button'))) return press(el);
  if ((el = t.closest('[data-thread]'))) {
    const ts = el.dataset.thread;
    const opening = !openThreads.has(ts);
    if (opening) openThreads.add(ts); else openThreads.delete(ts);
    drawMain(false);
    // The thread opens under its message: its replies come into view.
    const thread = opening && $$(':scope > .msg', $('#messages')).find(x => x.dataset.ts === ts);
    if (thread && $('.thread', thread)) { reveal = null; revealEl($('.thread', thread)); }
    return;
  }
  if ((el = t.closest('[data-hint]'))) { const box = $('#box'); box.value = el.dataset.hint; box.focus(); return; }
  if ((el = t.closest('[data-close]'))) {
    const v = S.modal;
    $('#modal-layer').hidden = true;
    if (v) post('/api/close', { user: me, view: v.id }).catch(e => toast(e.message));
    return;
  }
  if (t.closest('#modal .submit')) return submitModal();
  if ((el = t.closest('[data-tab]'))) { tab = el.dataset.tab; return drawPanel(true); }
  if ((el = t.closest('[data-drift]'))) {
    return post('/api/drift', { user: me, app: el.dataset.drift, key: el.dataset.key })
      .then(r => toast(`${el.dataset.key} on ${el.dataset.drift} changed by hand: now ${r.fingerprint}`)).catch(e => toast(e.message));
  }
  if (t.closest('#copy')) { navigator.clipboard.writeText(minted.token).then(() => toast('Copied.'), () => toast('Select the token and copy it.')); return; }
  if (t.closest('#forget')) { minted = null; return drawMinted(); }
  if (t.closest('#restart')) {
    return post('/api/restart', {}).then(() => toast('Restarting the bot: open runs resume where they stopped.')).catch(e => toast(e.message));
  }
});

document.addEventListener('change', ev => {
  const t = ev.target;
  if (t.dataset.fault !== undefined) {
    post('/api/fault', { target: t.dataset.fault, kind: t.value }).catch(e => toast(e.message));
  } else if (t.id === 'mint-secret') {
    const s = S.secrets.find(x => x.name === t.value);
    if (s) $('#mint-kind').value = s.kind;
  }
});

document.addEventListener('submit', ev => {
  if (ev.target.id === 'composer') return command(ev);
  if (ev.target.id === 'mint') {
    ev.preventDefault();
    const f = ev.target;
    post('/api/mint', { secret: f.secret.value, kind: f.kind.value, variant: f.variant.value })
      .then(r => { minted = r; drawMinted(); }).catch(e => toast(e.message));
  }
});

// A hint keeps the focus in the message box (else the hints would hide before the click).
document.addEventListener('mousedown', ev => {
  if (ev.target.closest('[data-hint]')) ev.preventDefault();
});

document.addEventListener('keydown', ev => {
  if (ev.key === 'Escape') $('#confirm-layer').hidden = true;
  if (ev.key === 'Enter' && ev.target.closest('#modal input')) { ev.preventDefault(); submitModal(); }
});

document.addEventListener('input', ev => {
  if (ev.target.id === 'box') drawHints();
});

// The person scrolls: the page stops revealing answers until their next gesture.
for (const kind of ['wheel', 'touchmove']) {
  document.addEventListener(kind, ev => { if (ev.target.closest('#messages')) reveal = null; }, { passive: true });
}
// The list shrinks or grows (the hints show, the window is resized): the answer
// stays in view, and a list at its end stays there.
new ResizeObserver(() => {
  const box = $('#messages');
  if (reveal && reveal.ts && reveal.where === where) revealNow();
  else if (atEndBefore) box.scrollTop = box.scrollHeight;
}).observe($('#messages'));
$('#messages').addEventListener('scroll', () => {
  const box = $('#messages');
  atEndBefore = box.scrollHeight - box.scrollTop - box.clientHeight < 2;
});

(async function start() {
  // Whoever this browser was last, if the sandbox has them; else the first person.
  const people = await (await fetch('/api/people')).json();
  if (!people.some(p => p.id === me)) me = people[0].id;
  connect();
})();
