/* MoChat chat widget loader.
 *   <script src="https://EDGE/widget.js" data-site="SITE_KEY" async></script>
 * Optional: data-color="#0f766e" (launcher colour), data-label="Chat with us".
 * Adds a launcher button (with an unread badge) in a shadow root, and on first
 * open an iframe with the chat, served by the edge worker from its own origin.
 * API: window.MoChat.open(), .close(), .toggle(), .identify({name, email}),
 *      .on(event, fn) for "ready", "open", "close", "unread", "message"
 *      (also dispatched on window as "mochat:<event>" CustomEvents).
 * postMessage in both directions is pinned to the other side's exact origin;
 * messages are {v: 1, type: "mochat:…", …}; anything else is ignored.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.MoChat && window.MoChat.version)) return;
  var V = 1;
  // The chat's page on the edge worker: `cargo xtask build` writes it here
  // from the api crate (widget::FRAME_PATH) when it copies this file to dist/.
  var FRAME_PATH = "__MOCHAT_FRAME_PATH__";
  var edge = new URL(script.src, location.href).origin;
  var site = script.getAttribute("data-site") || "";
  var color = script.getAttribute("data-color") || "#4f46e5";
  if (!/^#[0-9a-fA-F]{6}$/.test(color)) color = "#4f46e5";
  var label = script.getAttribute("data-label") || "Chat with us";
  var listeners = {};
  var frame = null;
  var ready = false;
  var isOpen = false;
  var identity = null;

  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  var css =
    ":host{all:initial}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483646;width:56px;height:56px;border-radius:50%;" +
    "border:0;cursor:pointer;background:" + color + ";color:#fff;box-shadow:0 4px 16px rgba(0,0,0,.25);" +
    "display:flex;align-items:center;justify-content:center;padding:0}" +
    ".launcher:focus-visible{outline:3px solid #fff;outline-offset:-6px}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;padding:0 5px;" +
    "box-sizing:border-box;background:#dc2626;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}" +
    ".badge[hidden],.panel[hidden]{display:none}" +
    ".panel{position:fixed;right:20px;bottom:88px;z-index:2147483647;width:380px;height:min(600px,calc(100vh - 110px));" +
    "border-radius:14px;overflow:hidden;box-shadow:0 8px 32px rgba(0,0,0,.3);background:#fff}" +
    ".panel iframe{border:0;width:100%;height:100%;display:block}" +
    "@media (max-width:500px){.panel{inset:0;width:100%;height:100%;border-radius:0}" +
    ".open .launcher{display:none}}";

  var root = el("div");
  root.setAttribute("data-mochat-widget", "");
  var shadow = root.attachShadow({ mode: "open" });
  try {
    // Constructed stylesheets are not inline styles: a host CSP without
    // 'unsafe-inline' still lets them apply.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    var style = el("style");
    style.textContent = css;
    shadow.appendChild(style);
  }
  var wrap = el("div");
  var panel = el("div", "panel");
  panel.hidden = true;
  var button = el("button", "launcher");
  button.type = "button";
  button.setAttribute("aria-label", label);
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("data-testid", "launcher");
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  svg.appendChild(path);
  var badge = el("span", "badge");
  badge.hidden = true;
  badge.setAttribute("data-testid", "unread");
  button.appendChild(svg);
  button.appendChild(badge);
  wrap.appendChild(panel);
  wrap.appendChild(button);
  shadow.appendChild(wrap);

  function emit(name, detail) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
    window.dispatchEvent(new CustomEvent("mochat:" + name, { detail: detail }));
  }

  function post(type, extra) {
    if (!frame || !frame.contentWindow || !ready) return;
    var msg = { v: V, type: "mochat:" + type };
    for (var k in extra) msg[k] = extra[k];
    frame.contentWindow.postMessage(msg, edge);
  }

  function setUnread(n) {
    badge.hidden = !(n > 0);
    badge.textContent = n > 99 ? "99+" : String(n);
  }

  function open() {
    if (!frame) {
      frame = el("iframe");
      frame.title = label;
      frame.src = edge + FRAME_PATH + "?site=" + encodeURIComponent(site) +
        "&host=" + encodeURIComponent(location.origin);
      panel.appendChild(frame);
    }
    isOpen = true;
    panel.hidden = false;
    wrap.className = "open";
    button.setAttribute("aria-expanded", "true");
    setUnread(0);
    post("visibility", { open: true });
    emit("open", {});
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    wrap.className = "";
    button.setAttribute("aria-expanded", "false");
    post("visibility", { open: false });
    button.focus();
    emit("close", {});
  }

  function toggle() {
    if (isOpen) close(); else open();
  }

  function identify(who) {
    who = who || {};
    identity = {
      name: typeof who.name === "string" ? who.name : undefined,
      email: typeof who.email === "string" ? who.email : undefined
    };
    post("identify", identity);
  }

  function on(name, fn) {
    if (typeof fn === "function") (listeners[name] = listeners[name] || []).push(fn);
  }

  button.addEventListener("click", toggle);
  window.addEventListener("message", function (e) {
    if (!frame || e.origin !== edge || e.source !== frame.contentWindow) return;
    var d = e.data;
    if (!d || d.v !== V || typeof d.type !== "string") return;
    if (d.type === "mochat:ready") {
      ready = true;
      post("visibility", { open: isOpen });
      if (identity) post("identify", identity);
      emit("ready", {});
    } else if (d.type === "mochat:close") {
      close();
    } else if (d.type === "mochat:unread") {
      var n = Math.max(0, d.count | 0);
      if (!isOpen) setUnread(n);
      emit("unread", { count: n });
    } else if (d.type === "mochat:message") {
      emit("message", { messageId: String(d.messageId) });
    }
  });

  window.MoChat = { version: V, open: open, close: close, toggle: toggle, identify: identify, on: on };
  function mount() { document.body.appendChild(root); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
