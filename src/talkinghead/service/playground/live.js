// The playground's Live tab: a WebSocket to /api/v1/live (docs/LIVE.md). It sends the
// portrait and the options, then PCM s16le mono at 16 kHz in 20 ms chunks from the
// microphone or a file, and draws each JPEG frame on a canvas as it arrives. A file plays
// out through a DelayNode set to the measured latency, so its sound matches the face.
// Uses $, state, options(), readAsDataURL and dropZone from app.js and Downsampler from
// pcm-capture.js (page scripts share one global scope).
"use strict";

(() => {
  const RATE = 16000;  // the sample_rate the server is told
  const CHUNK = RATE / 50;  // 20 ms of sound per message
  const FIRST_GUESS_S = 0.12;  // frames come about this long after their sound
  const CAPTURE_MODULE = "/playground/pcm-capture.js";
  // 4th-order Butterworth low-pass before downsampling; BiquadFilterNode takes Q in dB.
  const BUTTERWORTH_Q_DB = [20 * Math.log10(0.5412), 20 * Math.log10(1.3066)];
  const canvas = $("live-canvas");
  let run = null;  // the session in progress

  function say(text, isError = false) {
    $("live-status").textContent = text;
    $("live-status").classList.toggle("error", isError);
  }

  function refreshButtons() {
    $("live-start").disabled = !state.image || run !== null;
    $("live-interrupt").disabled = !(run && run.ready);
    $("live-stop").disabled = run === null;
  }

  class LiveRun {
    constructor(file) {
      this.file = file;  // null: the microphone
      this.ws = null;
      this.audio = null;  // AudioContext
      this.ready = false;
      this.ended = false;
      this.errored = false;
      this.quiet = false;  // closed by us before the start: nothing to report
      this.frames = 0;  // received
      this.drawn = 0;
      this.drawing = Promise.resolve();
      // Latency: when each sent byte was captured, and where the server put it.
      this.bytesSent = 0;
      this.sends = [];  // {end: bytes sent so far, t: when the chunk's last sample was captured}
      this.firstSend = null;
      this.segments = [{ time: 0, byte: 0 }];  // from audio_at events; null: unknown for now
      this.latencies = [];  // ms, the most recent ones
      this.lagging = null;
    }

    async open(key) {
      say(this.file ? "Reading the file…" : "Asking for the microphone…");
      this.audio = new AudioContext();  // made during the click, so it may play
      if (this.file) {
        this.buffer = await this.audio.decodeAudioData(await this.file.arrayBuffer());
      } else {
        if (!navigator.mediaDevices) throw new Error("the microphone needs https or localhost");
        try {
          this.stream = await navigator.mediaDevices.getUserMedia(
            { audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
        } catch (error) {
          throw new Error(`Microphone unavailable: ${error.message || error.name}`);
        }
      }
      const image = await readAsDataURL(state.image);
      if (this.ended) return;
      say("Connecting…");
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(
        `${scheme}//${location.host}/api/v1/live?api_key=${encodeURIComponent(key)}`);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => {
        say("Connected; analysing the portrait…");
        ws.send(JSON.stringify({ type: "start", image, sample_rate: RATE, ...options() }));
      };
      ws.onmessage = (event) => {
        if (typeof event.data === "string") this.onEvent(JSON.parse(event.data));
        else this.onFrame(event.data);
      };
      ws.onclose = (event) => this.onClose(event);
      this.ws = ws;
    }

    onEvent(message) {
      if (message.type === "ready") {
        this.onReady(message).catch((error) => this.fail(error.message || String(error)));
      } else if (message.type === "error") {
        this.errored = true;
        say(message.message, true);  // the server's words
      } else if (message.type === "audio_at") {
        // Our byte `byte` plays at session time `time_s` (silence was added before it).
        const segment = { time: message.time_s, byte: message.byte };
        if (message.byte === 0 || this.segments === null) this.segments = [segment];
        else this.segments.push(segment);
        if (this.segments.length > 50) this.segments.shift();
      } else if (message.type === "lagging") {
        this.lagging = { behind: message.behind_s, at: performance.now() };
      }
    }

    async onReady(message) {
      this.fps = message.fps;
      canvas.width = message.width;
      canvas.height = message.height;
      canvas.hidden = false;
      canvas.dataset.frames = "0";
      this.ctx2d = canvas.getContext("2d");
      this.ready = true;
      refreshButtons();
      await this.startSound();
      say(`Ready: ${message.width}×${message.height} at ${message.fps} fps (seed ` +
          `${message.seed}). ${this.file ? `Playing ${this.file.name}.` : "Talk now."}`);
      this.tick = { at: performance.now(), frames: this.frames };
      this.ticker = setInterval(() => this.showStats(), 1000);
    }

    async startSound() {
      const audio = this.audio;
      let source;
      if (this.buffer) {
        source = audio.createBufferSource();
        source.buffer = this.buffer;
        source.onended = () => this.fileEnded();
      } else {
        source = audio.createMediaStreamSource(this.stream);
      }
      this.source = source;
      let head = source;
      if (audio.sampleRate > RATE) {
        for (const q of BUTTERWORTH_Q_DB) {
          const filter = audio.createBiquadFilter();
          filter.type = "lowpass";
          filter.frequency.value = 0.45 * RATE;
          filter.Q.value = q;
          head.connect(filter);
          head = filter;
        }
      }
      const mute = audio.createGain();  // keeps the capture node pulled, silently
      mute.gain.value = 0;
      mute.connect(audio.destination);
      const send = (pcm) => this.send(pcm);
      if (audio.audioWorklet) {
        await audio.audioWorklet.addModule(CAPTURE_MODULE);
        const node = new AudioWorkletNode(audio, "pcm-capture", {
          numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
          processorOptions: { rate: RATE, chunk: CHUNK } });
        node.port.onmessage = (event) => send(event.data);
        head.connect(node).connect(mute);
      } else {  // no AudioWorklet (a page not served over https or from localhost)
        const node = audio.createScriptProcessor(1024, 1, 1);
        const downsampler = new Downsampler(audio.sampleRate, RATE, CHUNK, send);
        node.onaudioprocess = (event) => downsampler.push(
          [event.inputBuffer.getChannelData(0)], event.inputBuffer.length);
        head.connect(node).connect(mute);
      }
      if (this.buffer) {  // the file is heard as late as its frames come
        this.delay = audio.createDelay(2);
        this.delay.delayTime.value = FIRST_GUESS_S;
        source.connect(this.delay).connect(audio.destination);
        source.start();
      }
      await audio.resume();
    }

    send(pcm) {
      if (this.ended || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const now = performance.now();
      if (this.firstSend === null) this.firstSend = now;
      this.ws.send(pcm);
      this.bytesSent += pcm.byteLength;
      this.sends.push({ end: this.bytesSent, t: now });
      if (this.sends.length > 500) this.sends.shift();  // 10 s
    }

    onFrame(data) {
      const index = this.frames++;
      this.noteLatency(index, performance.now());
      const decoding = createImageBitmap(new Blob([data], { type: "image/jpeg" }));
      this.drawing = this.drawing.then(() => decoding).then((bitmap) => {
        if (run === this || run === null) {
          this.ctx2d.drawImage(bitmap, 0, 0);
          this.drawn += 1;
          canvas.dataset.frames = String(this.drawn);
        }
        bitmap.close();
      }, () => {});
    }

    // Frame k shows session time k/fps: find the byte we sent for it, and when it was captured.
    noteLatency(index, arrived) {
      if (this.segments === null || this.firstSend === null || arrived < this.firstSend + 500) {
        return;  // the server may not have placed our first sound yet
      }
      const time = index / this.fps;
      let i = this.segments.length - 1;
      while (i >= 0 && this.segments[i].time > time + 1e-6) i--;
      if (i < 0) return;
      const byte = this.segments[i].byte + 2 * Math.round((time - this.segments[i].time) * RATE);
      const next = this.segments[i + 1];
      if ((next && byte >= next.byte) || byte >= this.bytesSent) return;  // silence it added
      const sent = this.sends.find((s) => s.end > byte);
      if (!sent || sent.end - byte > 2 * CHUNK) return;
      const captured = sent.t - ((sent.end - byte) / 2 / RATE) * 1000;
      this.latencies.push(arrived - captured);
      if (this.latencies.length > 50) this.latencies.shift();
    }

    latencyMs() {
      if (this.latencies.length < 5) return null;
      const sorted = [...this.latencies].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)];
    }

    showStats() {
      const now = performance.now();
      const fps = ((this.frames - this.tick.frames) * 1000) / Math.max(1, now - this.tick.at);
      this.tick = { at: now, frames: this.frames };
      const latency = this.latencyMs();
      const parts = [`${this.frames} frames`];
      if (!this.ended) parts.push(`${fps.toFixed(1)} frames/s`);
      if (latency !== null) parts.push(`latency ${Math.round(latency)} ms`);
      if (this.delay && !this.ended) {
        if (latency !== null) {  // the frame's latency, less the sound's own way out
          const out = (this.audio.baseLatency || 0) + (this.audio.outputLatency || 0);
          const target = Math.min(1.9, Math.max(0, latency / 1000 - out));
          if (Math.abs(target - this.delay.delayTime.value) > 0.015) {
            this.delay.delayTime.setTargetAtTime(target, this.audio.currentTime, 0.3);
          }
        }
        parts.push(`sound delayed ${Math.round(this.delay.delayTime.value * 1000)} ms`);
      }
      if (this.lagging && now - this.lagging.at < 3000) {
        parts.push(`server ${this.lagging.behind} s behind`);
      }
      $("live-stats").textContent = parts.join(" · ");
      canvas.dataset.fps = fps.toFixed(1);
      canvas.dataset.latencyMs = latency === null ? "" : String(Math.round(latency));
    }

    fileEnded() {
      if (!this.ended) say(`Played ${this.file.name}; silence follows. Stop to end.`);
    }

    interrupt() {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(JSON.stringify({ type: "interrupt" }));
      this.segments = null;  // the server dropped sound not yet shown: wait for audio_at
      if (this.buffer) {  // the agent was cut off: its sound stops too
        this.source.onended = null;
        this.source.stop();
        this.delay.disconnect();
        say("Interrupted: the mouth closes; silence follows. Stop to end.");
      } else {
        say("Interrupted: sound not yet shown was dropped. Talk on.");
      }
    }

    stop() {
      this.stopSound();
      if (this.ws && this.ws.readyState === WebSocket.OPEN && this.ready) {
        say("Stopping…");  // the last frames come, then the server closes
        this.ws.send(JSON.stringify({ type: "stop" }));
      } else {  // not started yet
        this.quiet = true;
        if (this.ws) this.ws.close();
        this.finish();
        say("Stopped.");
      }
    }

    stopSound() {
      this.ended = true;
      if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
      if (this.audio && this.audio.state !== "closed") this.audio.close().catch(() => {});
    }

    fail(message) {
      this.errored = true;
      say(message, true);
      if (this.ws) this.ws.close();
      this.stopSound();
      this.finish();
    }

    onClose(event) {
      this.stopSound();
      if (!this.errored && !this.quiet) {
        if (event.code === 1000) say(`Stopped after ${this.frames} frames.`);
        else say(`Connection closed: ${event.reason || `code ${event.code}`}`, true);
      }
      if (this.ticker) this.showStats();
      this.finish();
    }

    finish() {
      clearInterval(this.ticker);
      this.ticker = null;
      if (run === this) run = null;
      refreshButtons();
    }
  }

  async function start() {
    if (run) return;
    const key = $("api-key").value.trim();
    localStorage.setItem("talkinghead-key", key);
    const file = $("live-play").checked ? $("live-file").files[0] : null;
    if ($("live-play").checked && !file) {
      say("Choose an audio file to play, or pick Microphone.", true);
      return;
    }
    $("live-stats").textContent = "";
    run = new LiveRun(file);
    refreshButtons();
    const starting = run;
    try {
      await starting.open(key);
    } catch (error) {
      starting.fail(error.message || String(error));
    }
  }

  $("live-start").addEventListener("click", start);
  $("live-interrupt").addEventListener("click", () => run && run.interrupt());
  $("live-stop").addEventListener("click", () => run && run.stop());
  $("live-file").addEventListener("change", () => {
    if ($("live-file").files.length) $("live-play").checked = true;
  });
  dropZone($("live-sound"), (file) => {
    const transfer = new DataTransfer();
    transfer.items.add(file);
    $("live-file").files = transfer.files;
    $("live-play").checked = true;
  });
  document.addEventListener("talkinghead:change", refreshButtons);
  document.addEventListener("talkinghead:mode", (event) => {
    if (event.detail !== "live" && run) run.stop();  // leaving the tab ends the session
  });
  refreshButtons();
})();
