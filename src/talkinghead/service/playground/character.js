// The playground's Character control: boxes for a character's mouth and eyes, dragged on
// the portrait, for pictures the face finder cannot read (drawings, mascots, animals).
// Boxes are kept in the picture's own pixels (its natural size, whatever size it is shown
// at) and sent as `mouth` [x, y, w, h] and `eyes` [[x, y, w, h], ...] by Generate and by
// the Live tab's Start, through options() in app.js, which calls characterHints().
// Uses $, state and refresh from app.js (page scripts share one global scope).
"use strict";

const CHARACTER_BOXES = ["mouth", "eye1", "eye2"];
const CHARACTER_LABELS = { mouth: "Mouth", eye1: "Eye 1", eye2: "Eye 2" };
const CHARACTER_COLOURS = { mouth: "#d33030", eye1: "#12a150", eye2: "#3056d3" };
const MIN_BOX_PX = 2;  // the server's smallest width and height
const MIN_DRAG_CSS_PX = 4;  // a shorter drag is a click, whatever the picture's scale

const character = {
  image: null,  // the File the boxes belong to
  boxes: { mouth: null, eye1: null, eye2: null },  // [x, y, w, h] in the picture's pixels
  mode: "mouth",
  drag: null,  // {pointer, x0, y0, x1, y1} in the picture's pixels while dragging
};

// What options() adds to a request: nothing unless the toggle is on and a mouth is marked.
function characterHints() {
  const { mouth, eye1, eye2 } = character.boxes;
  if (!$("character-toggle").checked || !mouth) return {};
  const eyes = [eye1, eye2].filter(Boolean);
  return eyes.length ? { mouth: [...mouth], eyes: eyes.map((eye) => [...eye]) } : { mouth: [...mouth] };
}

(() => {
  const img = $("character-image");
  const canvas = $("character-canvas");

  function loaded() {
    return Boolean(character.image && img.complete && img.naturalWidth > 0);
  }

  function setMode(mode) {
    character.mode = mode;
    for (const button of document.querySelectorAll(".character-mode")) {
      button.setAttribute("aria-pressed", String(button.dataset.box === mode));
    }
  }

  // Client coordinates -> the picture's pixels, inside the picture.
  function toSource(event) {
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * img.naturalWidth;
    const y = ((event.clientY - rect.top) / rect.height) * img.naturalHeight;
    return [Math.min(img.naturalWidth, Math.max(0, x)), Math.min(img.naturalHeight, Math.max(0, y))];
  }

  function boxOf(drag) {
    const x0 = Math.round(Math.min(drag.x0, drag.x1));
    const y0 = Math.round(Math.min(drag.y0, drag.y1));
    const x1 = Math.round(Math.max(drag.x0, drag.x1));
    const y1 = Math.round(Math.max(drag.y0, drag.y1));
    return [x0, y0, x1 - x0, y1 - y0];
  }

  function draw() {
    if (!loaded()) return;
    const rect = img.getBoundingClientRect();
    if (rect.width === 0) return;  // hidden
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(rect.width * ratio);
    const height = Math.round(rect.height * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.scale(ratio, ratio);
    const scale = rect.width / img.naturalWidth;  // the picture's pixels -> CSS pixels
    const shown = { ...character.boxes };
    if (character.drag) shown[character.mode] = boxOf(character.drag);
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (const name of CHARACTER_BOXES) {
      const box = shown[name];
      if (!box) continue;
      const [x, y, w, h] = box.map((v) => v * scale);
      const colour = CHARACTER_COLOURS[name];
      ctx.fillStyle = `${colour}2e`;
      ctx.fillRect(x, y, w, h);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#fff";  // a white rim outside: visible on dark pictures
      ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
      ctx.strokeStyle = colour;  // the colour inside, so a box at the edge still shows it
      ctx.strokeRect(x + 1, y + 1, Math.max(0, w - 2), Math.max(0, h - 2));
      const label = CHARACTER_LABELS[name];
      const tagW = ctx.measureText(label).width + 10;
      const tagY = y >= 18 ? y - 18 : y + h + 1;  // above the box, or below at the top edge
      const tagX = Math.min(Math.max(0, x - 1), rect.width - tagW);
      ctx.fillStyle = colour;
      ctx.fillRect(tagX, tagY, tagW, 17);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, tagX + 5, tagY + 9);
    }
  }

  function showText() {
    for (const name of CHARACTER_BOXES) {
      const box = character.boxes[name];
      $(`character-${name}`).textContent = box ? box.join(",") : "—";
    }
    const { mouth, eye1, eye2 } = character.boxes;
    const size = loaded() ? `Picture ${img.naturalWidth}×${img.naturalHeight} px` : "";
    let note = size && `${size}: boxes are given in its pixels.`;
    if (size && !mouth && (eye1 || eye2)) note = "Eyes are sent only with a mouth box: mark the mouth too.";
    else if (size && mouth) {
      note = `${size}. Generate and Start send these boxes as "mouth"` +
        `${eye1 || eye2 ? ' and "eyes"' : ""}.`;
    }
    $("character-note").textContent = note;
  }

  function update() {
    showText();
    draw();
    refresh();  // the request and the curl command follow the boxes
  }

  function showCard() {
    const on = $("character-toggle").checked;
    $("character-card").hidden = !on;
    $("character-editor").hidden = !character.image;
    $("character-empty").hidden = Boolean(character.image);
    if (on) draw();
  }

  function pictureChanged() {
    if (state.image === character.image) return;
    character.image = state.image;
    character.boxes = { mouth: null, eye1: null, eye2: null };  // they marked the old picture
    character.drag = null;
    setMode("mouth");
    if (state.image) img.src = $("image-preview").src;
    showCard();
    update();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (!loaded() || event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = toSource(event);
    character.drag = { pointer: event.pointerId, x0: x, y0: y, x1: x, y1: y };
    draw();
  });
  canvas.addEventListener("pointermove", (event) => {
    const drag = character.drag;
    if (!drag || drag.pointer !== event.pointerId) return;
    [drag.x1, drag.y1] = toSource(event);
    draw();
  });
  const endDrag = (event, keep) => {
    const drag = character.drag;
    if (!drag || drag.pointer !== event.pointerId) return;
    character.drag = null;
    if (keep) [drag.x1, drag.y1] = toSource(event);
    const box = boxOf(drag);
    const shown = canvas.getBoundingClientRect().width / img.naturalWidth;  // CSS px per pixel
    const big = Math.min(box[2], box[3]) >= Math.max(MIN_BOX_PX, MIN_DRAG_CSS_PX / shown);
    if (keep && big) {  // a click is not a box
      character.boxes[character.mode] = box;
      const next = CHARACTER_BOXES.find((name) => !character.boxes[name]);
      if (next && character.mode !== "eye2") setMode(next);  // mouth, then the eyes
    }
    update();
  };
  canvas.addEventListener("pointerup", (event) => endDrag(event, true));
  canvas.addEventListener("pointercancel", (event) => endDrag(event, false));

  for (const button of document.querySelectorAll(".character-mode")) {
    button.addEventListener("click", () => setMode(button.dataset.box));
  }
  $("character-clear").addEventListener("click", () => {
    character.boxes = { mouth: null, eye1: null, eye2: null };
    setMode("mouth");
    update();
  });
  $("character-toggle").addEventListener("change", () => {
    showCard();
    update();
  });
  img.addEventListener("load", () => {
    showText();
    draw();
  });
  new ResizeObserver(draw).observe(img);
  document.addEventListener("talkinghead:change", pictureChanged);
  document.addEventListener("talkinghead:mode", () => requestAnimationFrame(draw));
  showCard();
  showText();
})();
