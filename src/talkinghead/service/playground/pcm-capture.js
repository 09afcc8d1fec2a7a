// Sound capture for the playground's Live tab: mono, downsampled to the rate the server
// is told (16 kHz), in chunks of PCM s16le. Loaded twice: as an AudioWorklet module (where
// registerProcessor exists) and as a page script, which uses Downsampler for the
// ScriptProcessorNode fallback. A file of its own because the page's CSP allows no inline
// scripts. Anti-aliasing is done before this, by low-pass BiquadFilterNodes.
"use strict";

class Downsampler {
  constructor(inputRate, outputRate, chunk, emit) {
    this.step = inputRate / outputRate;  // input samples per output sample
    this.pos = 0;  // where the next output sample falls, from the previous block's last sample
    this.last = 0;  // the previous block's last sample
    this.chunk = chunk;
    this.emit = emit;  // gets each full Int16Array chunk (little-endian on every browser platform)
    this.out = new Int16Array(chunk);
    this.filled = 0;
    this.mono = new Float32Array(0);
  }

  // channels: an array of Float32Arrays (none when nothing is connected: silence).
  push(channels, length) {
    if (this.mono.length !== length) this.mono = new Float32Array(length);
    const mono = this.mono;
    mono.fill(0);
    for (const channel of channels) {
      for (let i = 0; i < length; i++) mono[i] += channel[i] / channels.length;
    }
    let pos = this.pos;
    while (pos < length) {  // linear interpolation between sample i-1 (or last) and i
      const i = Math.floor(pos);
      const a = i === 0 ? this.last : mono[i - 1];
      this.write(a + (mono[i] - a) * (pos - i));
      pos += this.step;
    }
    this.pos = pos - length;
    this.last = mono[length - 1];
  }

  write(value) {
    const v = Math.max(-1, Math.min(1, value));
    this.out[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
    if (this.filled === this.chunk) {
      this.emit(this.out);
      this.out = new Int16Array(this.chunk);
      this.filled = 0;
    }
  }
}

if (typeof registerProcessor === "function") {
  registerProcessor("pcm-capture", class extends AudioWorkletProcessor {
    constructor(options) {
      super();
      const { rate, chunk } = options.processorOptions;
      // sampleRate is the AudioWorkletGlobalScope's: the context's rate.
      this.downsampler = new Downsampler(sampleRate, rate, chunk,
        (pcm) => this.port.postMessage(pcm, [pcm.buffer]));
    }

    process(inputs) {
      const channels = inputs[0];
      this.downsampler.push(channels, channels.length ? channels[0].length : 128);
      return true;
    }
  });
}
