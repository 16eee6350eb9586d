// The help centre's FAQ bot: asks POST /api/v1/bot/ask and shows the answer, or says it
// does not know; a handoff sends the customer to the contact form with their question.
(function () {
  "use strict";
  function line(log, who, text, link) {
    var p = document.createElement("div");
    p.className = who === "you" ? "text-end mb-1" : "mb-2 p-2 bg-azure-lt rounded";
    p.style.whiteSpace = "pre-wrap";
    p.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.href; a.textContent = " " + link.text; a.className = "ms-1";
      p.appendChild(a);
    }
    log.appendChild(p);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("bot-form");
    if (!form) { return; }
    var log = document.getElementById("bot-log");
    var conversation = "";
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = form.elements.question;
      var question = input.value.trim();
      if (!question) { return; }
      line(log, "you", question);
      input.value = "";
      fetch("/api/v1/bot/ask", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: question, language: form.dataset.language,
                               conversation: conversation })
      }).then(function (r) { return r.json(); }).then(function (data) {
        conversation = data.conversation || conversation;
        if (data.handoff) {
          line(log, "bot", form.dataset.handoff, { href: "/help/new", text: "→" });
        } else if (data.answer) {
          line(log, "bot", data.answer, { href: "/help/a/" + data.article_id, text: "↗" });
        } else {
          line(log, "bot", form.dataset.unknown, { href: "/help/new", text: "→" });
        }
      });
    });
  });
})();
