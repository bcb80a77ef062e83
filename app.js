// The web chat's browser side (app.py puts it in the page's head). The HTML panels call these
// from their js_on_load; nothing here talks to the server except through Gradio's triggers.

const RAG_HISTORY_KEY = 'rag-question-history';
const RAG_HISTORY_MAX = 50;

// The chat: citations open their source, Copy copies a reply, each new reply is scrolled into view.
function ragChat(element, trigger, watch) {
  element.addEventListener('click', (event) => {
    const cite = event.target.closest('button[data-cite]');
    if (cite && element.contains(cite)) trigger('click', {cite: cite.dataset.cite});
    const copy = event.target.closest('button[data-copy]');
    if (copy && element.contains(copy)) ragCopy(copy);
  });
  watch('value', () => {
    const turns = element.querySelectorAll('.rag-turn');
    if (turns.length) ragScrollWithin(turns[turns.length - 1], 'start');
  });
}

// Sends a question: numbers it in the order asked, keeps it in this browser's history, and (for
// the question box) empties the box at once, so that what is typed next is never wiped by a reply.
function ragSend(clear, question, sequence, ...rest) {
  window.__ragAsked = (window.__ragAsked || 0) + 1;
  const box = document.querySelector('#rag-question textarea');
  if (clear && box && question && box.value.startsWith(question)) {
    box.value = box.value.slice(question.length).trimStart();  // keep anything typed since
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }
  if (question && question.trim()) ragRemember(question.trim());
  return [question, window.__ragAsked, ...rest];
}

function ragCopy(button) {
  const text = button.dataset.copy;
  const done = () => { button.textContent = 'Copied'; setTimeout(() => { button.textContent = 'Copy'; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => ragCopyByHand(text, done));
  } else {
    ragCopyByHand(text, done);  // plain http beyond localhost: no clipboard API
  }
}

function ragCopyByHand(text, done) {
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  if (document.execCommand('copy')) done();
  area.remove();
}

// The source view: scrolled to the highlight (its title stays on top), and "Back to the chat"
// returns to the question box. Looked up from the document on each change: gradio may re-render
// the panel's inner element.
function ragSource(element, watch) {
  element.addEventListener('click', (event) => {
    if (!event.target.closest('button[data-back]')) return;
    document.querySelector('#rag-chat').scrollIntoView({block: 'start'});
    const box = document.querySelector('#rag-question textarea');
    if (box) box.focus({preventScroll: true});
  });
  watch('value', () => requestAnimationFrame(() => {
    const view = document.querySelector('#rag-source');
    const mark = view.querySelector('#cite-answer') || view.querySelector('#cite-sentence');
    if (mark) ragScrollWithin(mark, 'center');
  }));
}

// Scrolls the box that holds ``item`` (not the window) to bring it to the box's top ('start') or
// centre ('center'), then brings the box into view where it is not (a phone): the window never
// moves further than it must.
function ragScrollWithin(item, where) {
  const panel = item.closest('#rag-chat, #rag-source');
  let box = item.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 1
                  && ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) {
    box = box === panel ? null : box.parentElement;
  }
  if (!box) {  // the panel does not scroll: only the window may have to
    item.scrollIntoView({block: 'nearest'});
    return;
  }
  const at = item.getBoundingClientRect();
  const frame = box.getBoundingClientRect();
  const margin = where === 'center' ? (frame.height - at.height) / 2 : 0;
  box.scrollTop += at.top - frame.top - Math.max(0, margin);
  const shown = box.getBoundingClientRect();
  if (shown.top < 0 || shown.bottom > window.innerHeight) box.scrollIntoView({block: 'nearest'});
}

// The documents list: Open shows a document, Remove takes it out of the index once confirmed.
function ragDocuments(element, trigger) {
  element.addEventListener('click', (event) => {
    const open = event.target.closest('button[data-open]');
    if (open) trigger('select', {open: open.dataset.open});
    const remove = event.target.closest('button[data-remove]');
    if (remove && window.confirm(`Remove ${remove.dataset.name} from the index? `
        + 'Its answers and citations go with it; a file you uploaded is deleted from the server.')) {
      trigger('delete', {remove: remove.dataset.remove});
    }
  });
}

// Earlier questions, kept in this browser's local storage (never on the server): shown after a
// reload, each one asked again by a click.
function ragRemember(question) {
  const list = ragHistory.read().filter((q) => q !== question);
  list.push(question);
  localStorage.setItem(RAG_HISTORY_KEY, JSON.stringify(list.slice(-RAG_HISTORY_MAX)));
  window.dispatchEvent(new Event('rag-history'));
}

function ragHistory(element) {
  const draw = () => {
    const holder = element.querySelector('.rag-history-list') || element;
    holder.replaceChildren();
    const list = ragHistory.read();
    if (!list.length) {
      const empty = document.createElement('p');
      empty.className = 'rag-empty';
      empty.textContent = 'Questions you ask are listed here, in this browser only.';
      holder.appendChild(empty);
      return;
    }
    const items = document.createElement('ol');
    items.className = 'rag-history-items';
    for (const question of list.slice().reverse()) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'rag-history-ask';
      button.textContent = question;  // text, never markup
      button.title = 'Ask again';
      button.addEventListener('click', () => ragAskAgain(question));
      const item = document.createElement('li');
      item.appendChild(button);
      items.appendChild(item);
    }
    const forget = document.createElement('button');
    forget.type = 'button';
    forget.className = 'rag-history-forget';
    forget.textContent = 'Forget these questions';
    forget.addEventListener('click', () => {
      localStorage.removeItem(RAG_HISTORY_KEY);
      draw();
    });
    holder.append(items, forget);
  };
  window.addEventListener('rag-history', draw);
  draw();
}

ragHistory.read = () => {
  try {
    const list = JSON.parse(localStorage.getItem(RAG_HISTORY_KEY) || '[]');
    return Array.isArray(list) ? list.filter((q) => typeof q === 'string') : [];
  } catch (error) {
    return [];
  }
};

function ragAskAgain(question) {
  const box = document.querySelector('#rag-question textarea');
  box.value = question;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => document.querySelector('#rag-ask').click(), 0);
}
