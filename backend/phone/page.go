package phone

import (
	"slices"
	"sync"

	"preloadstation/backend/agent/wire"
)

// pageHub holds what the page shows and wakes every open page on a change.
type pageHub struct {
	mu      sync.Mutex
	state   wire.PageState
	version uint64
	changed chan struct{} // closed and replaced on every change
}

func newPageHub(build string) *pageHub {
	return &pageHub{state: wire.PageState{AgentVersion: build}, changed: make(chan struct{})}
}

func (p *pageHub) update(f func(*wire.PageState)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.state)
	p.version++
	close(p.changed)
	p.changed = make(chan struct{})
}

// set takes the station's state, keeping what only the agent knows.
func (p *pageHub) set(ps wire.PageState) {
	p.update(func(s *wire.PageState) {
		ps.Connected, ps.AgentVersion = s.Connected, s.AgentVersion
		if ps.Config == nil {
			ps.Config = s.Config
		}
		if ps.Installs == nil && len(s.Installs) > 0 && !ps.Configured {
			ps.Installs = s.Installs
		}
		*s = ps
	})
}

func (p *pageHub) setConnected(up bool) { p.update(func(s *wire.PageState) { s.Connected = up }) }

func (p *pageHub) setConfig(r wire.ConfigResult) {
	p.update(func(s *wire.PageState) {
		s.Config = &r
		if r.State == "ok" {
			s.Configured = true
		}
	})
}

// installState updates one install line the agent sees streaming, so the page
// moves even between the station's own updates.
func (p *pageHub) installState(name, state string, pct int, msg string) {
	if name == "" {
		return
	}
	p.update(func(s *wire.PageState) {
		for i := range s.Installs {
			if s.Installs[i].Name == name {
				s.Installs[i].State, s.Installs[i].Percent, s.Installs[i].Message = state, pct, msg
				return
			}
		}
		s.Installs = append(s.Installs, wire.InstallView{Name: name, State: state, Percent: pct, Message: msg})
	})
}

// snapshot is a copy of the state that later updates do not touch
// (installState edits install lines in place).
func (p *pageHub) snapshot() (wire.PageState, uint64, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state
	st.Lists = slices.Clone(st.Lists)
	st.Installs = slices.Clone(st.Installs)
	if st.Config != nil {
		c := *st.Config
		st.Config = &c
	}
	return st, p.version, p.changed
}

var pageStrings = map[string]map[string]string{
	"en": {
		"title": "Preload Station", "station": "Station", "slot": "Slot", "connected": "Connected to the station",
		"disconnected": "Waiting for the station…", "configured": "Station configured", "unconfigured": "This station is not configured yet",
		"formTitle": "Configure the station", "stationName": "Station name", "catalogUrl": "Catalog server URL (optional)",
		"registrationCode": "Registration code", "username": "Operator login", "password": "Password", "list": "App list",
		"anyList": "(default)", "submit": "Configure", "installs": "Installing", "noInstalls": "Nothing to install yet.",
		"notAllowed": "Configuration from phones is turned off on the station.",
		"queued":     "queued", "sending": "sending", "installing": "installing", "installed": "installed", "failed": "failed", "skipped": "skipped",
	},
	"zh": {
		"title": "预装工作站", "station": "工作站", "slot": "槽位", "connected": "已连接工作站",
		"disconnected": "正在等待工作站…", "configured": "工作站已配置", "unconfigured": "此工作站尚未配置",
		"formTitle": "配置工作站", "stationName": "工作站名称", "catalogUrl": "目录服务器地址（可选）",
		"registrationCode": "注册码", "username": "操作员账号", "password": "密码", "list": "应用列表",
		"anyList": "（默认）", "submit": "配置", "installs": "正在安装", "noInstalls": "暂无安装任务。",
		"notAllowed": "工作站已关闭从手机配置。",
		"queued":     "排队中", "sending": "传输中", "installing": "安装中", "installed": "已安装", "failed": "失败", "skipped": "已跳过",
	},
}

const pageHTML = `<!doctype html>
<html lang="{{.HTMLLang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.title}}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1b1d21}
h1{font-size:1.3rem;margin:.2rem 0 1rem}.card{background:#fff;border-radius:10px;padding:1rem;margin-bottom:1rem;box-shadow:0 1px 3px #0002}
.slot{font-size:2.4rem;font-weight:700}.muted{color:#667}.ok{color:#137333;font-weight:600}.err{color:#b3261e;font-weight:600}
label{display:block;margin:.6rem 0 .2rem}input,select{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;border:1px solid #bbc;border-radius:6px}
button{margin-top:1rem;width:100%;padding:.8rem;font-size:1.05rem;border:0;border-radius:8px;background:#1a73e8;color:#fff}
progress{width:100%}#identify{position:fixed;inset:0;background:#1a73e8;color:#fff;display:none;align-items:center;justify-content:center;font-size:30vw;font-weight:800}
li{margin:.4rem 0;list-style:none}ul{padding:0}
</style></head><body>
<div id="identify" role="status" aria-label="slot"></div>
<h1>{{.T.title}}</h1>
<div class="card"><div class="muted">{{.T.slot}}</div><div class="slot" id="slot">–</div>
<div><span class="muted">{{.T.station}}:</span> <span id="station">–</span></div>
<div id="conn" class="muted"></div><div id="cfgstate"></div></div>
<div class="card" id="formcard" hidden><h2 style="font-size:1.1rem;margin-top:0">{{.T.formTitle}}</h2>
<form id="form">
<label for="stationName">{{.T.stationName}}</label><input id="stationName" name="stationName">
<label for="catalogUrl">{{.T.catalogUrl}}</label><input id="catalogUrl" name="catalogUrl" type="url" placeholder="https://">
<label for="registrationCode">{{.T.registrationCode}}</label><input id="registrationCode" name="registrationCode">
<label for="username">{{.T.username}}</label><input id="username" name="username" autocomplete="username" required>
<label for="password">{{.T.password}}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="list">{{.T.list}}</label><select id="list" name="list"><option value="">{{.T.anyList}}</option></select>
<button id="submit" type="submit">{{.T.submit}}</button></form></div>
<div class="card" id="notallowed" hidden>{{.T.notAllowed}}</div>
<div class="card"><h2 style="font-size:1.1rem;margin-top:0">{{.T.installs}}</h2><ul id="installs"></ul></div>
<script>
const T = {{.Strings}}; const zh = document.documentElement.lang === "zh-CN";
let S = {{.Init}};
const $ = id => document.getElementById(id);
function render(s) {
  S = s;
  $("slot").textContent = s.slot || "–";
  $("station").textContent = s.station || "–";
  $("conn").textContent = s.connected ? T.connected : T.disconnected;
  const c = s.config;
  let cs = s.configured ? '<span class="ok" id="configured">' + T.configured + '</span>' : T.unconfigured;
  if (c && c.state !== "ok") cs += '<div class="' + (c.state === "error" ? "err" : "muted") + '" id="cfgmsg"></div>';
  $("cfgstate").innerHTML = cs;
  if (c && c.state !== "ok") $("cfgmsg").textContent = zh ? c.messageZh : c.message;
  $("formcard").hidden = s.configured || !s.allowConfig || !s.connected;
  $("notallowed").hidden = s.configured || s.allowConfig || !s.connected;
  const sel = $("list"); const lists = s.lists || [];
  if (sel.options.length !== lists.length + 1) {
    while (sel.options.length > 1) sel.remove(1);
    for (const l of lists) { const o = document.createElement("option"); o.value = o.textContent = l; sel.appendChild(o); }
  }
  const ul = $("installs"); ul.innerHTML = "";
  const ins = s.installs || [];
  if (!ins.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = T.noInstalls; ul.appendChild(li); }
  for (const i of ins) {
    const li = document.createElement("li");
    li.textContent = i.name + " — " + (T[i.state] || i.state) + (i.state === "sending" || i.state === "installing" ? " " + i.percent + "%" : "") + (i.message ? " (" + i.message + ")" : "");
    if (i.state === "sending" || i.state === "installing") { const p = document.createElement("progress"); p.max = 100; p.value = i.percent; li.appendChild(p); }
    ul.appendChild(li);
  }
  const idf = $("identify"); idf.textContent = s.slot || "?"; idf.style.display = s.identify ? "flex" : "none";
}
render(S);
function listen() {
  if (window.EventSource) {
    const es = new EventSource("/events");
    es.onmessage = e => render(JSON.parse(e.data));
    es.onerror = () => { es.close(); setTimeout(listen, 1000); };
  } else {
    let since = 0;
    (function poll() { fetch("/state?since=" + since).then(r => r.json()).then(j => { since = j.version; render(j.state); poll(); }).catch(() => setTimeout(poll, 1000)); })();
  }
}
listen();
$("form").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = Object.fromEntries(new FormData($("form")).entries());
  $("submit").disabled = true;
  fetch("/configure", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(f)})
    .then(r => r.json()).catch(() => null).finally(() => { $("submit").disabled = false; });
});
</script></body></html>
`
