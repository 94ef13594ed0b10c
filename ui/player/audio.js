/*
 * The audio engine: every cell's file decoded into an AudioBuffer, one AudioContext clock, one voice at a time
 * with a short crossfade, and the output chain  voice gain → volume → limiter (→ −1 dBFS ceiling) → analyser →
 * speakers. It knows URLs, levels and positions; which cell a URL belongs to is the player's business.
 */
(function (kit) {
  "use strict";

  const FADE = 0.006; // crossfade length (s): inaudible as a gap, long enough to avoid a click
  const LEAD = 0.02; // schedule changes slightly ahead so both voices share one exact start time
  const DECODE_CONCURRENCY = 4;
  const SHARED_BUFFERS = 24; // decoded files the page keeps for its players: a track's table and its mix
  const CEILING = Math.pow(10, -1 / 20); // −1 dBFS: with the limiter on, no output sample goes above it
  const KNEE = 0.75; // below this the limiter is transparent; above it peaks bend smoothly towards the ceiling
  const CURVE_POINTS = 8193; // odd, so 0 maps to a curve point; identity below the knee is exact

  /**
   * The limiter's transfer curve (a WaveShaper): identity up to KNEE, then a tanh knee that approaches CEILING
   * and never reaches it. Inputs beyond ±1 take the curve's end values, so nothing can pass the ceiling, not even
   * two loud voices overlapping in a crossfade.
   */
  function limiterCurve() {
    const curve = new Float32Array(CURVE_POINTS);
    const room = CEILING - KNEE;
    for (let i = 0; i < CURVE_POINTS; i++) {
      const x = (2 * i) / (CURVE_POINTS - 1) - 1;
      const a = Math.abs(x);
      curve[i] = a <= KNEE ? x : Math.sign(x) * (KNEE + room * Math.tanh((a - KNEE) / room));
    }
    return curve;
  }

  /**
   * The gain a cell plays at. `gain` restores its true level (loud files are stored scaled down); with the limiter
   * on, a cell whose true peak (known from the server) is above the ceiling is brought down to it here, before the
   * volume, so Volume still scales what is heard and the limiter itself rarely has to act.
   */
  kit.cellLevel = function cellLevel(entry, limiterOn) {
    const gain = (entry && entry.gain) || 1;
    const peak = (entry && entry.peak) || gain;
    const level = limiterOn ? gain * Math.min(1, CEILING / peak) : gain;
    return Number.isFinite(level) ? level : 0;
  };

  /**
   * Decoded files shared by every player of the page, most recently used last: a file two players show (the
   * mixer's first mix is the table's Latent Addition, the waveform mix its original mix) is fetched and decoded
   * once, and one the page head started early (prefetch.js) is taken over. An AudioBuffer may play in any context.
   * A failed decode is forgotten, so it is tried again.
   */
  const shared = new Map(); // `${sampleRate} ${url}` -> Promise<AudioBuffer>

  function sharedDecode(url, sampleRate, decode) {
    const key = `${sampleRate} ${url}`;
    let promise = shared.get(key);
    if (promise) shared.delete(key); // re-inserted below: most recently used last
    else {
      promise = kit.takePrefetched(url, sampleRate) || decode();
      promise.catch(() => shared.get(key) === promise && shared.delete(key));
    }
    shared.set(key, promise);
    while (shared.size > SHARED_BUFFERS) shared.delete(shared.keys().next().value);
    return promise;
  }

  class AudioEngine {
    /** `hooks`: sampleRate() for new contexts, loaded() after each decode, ended() when a clip ends without Loop. */
    constructor(hooks) {
      this.hooks = hooks;
      this.buffers = new Map(); // url -> AudioBuffer
      this.pending = new Map(); // url -> Promise<AudioBuffer>
      this.queue = [];
      this.active = 0;
      this.errors = 0;
      this.ctx = null;
      this.master = null;
      this.limiter = null;
      this.analyser = null;
      this.voice = null; // {source, gain, url, level}
      this.playing = false;
      this.loop = true;
      this.volume = 0.8;
      this.limiterOn = true;
      this.anchorTime = 0; // while playing: position(t) = anchorPos + (t - anchorTime)
      this.anchorPos = 0;
      this.pausedPos = 0;
    }

    // ------------------------------------------------------------ decoding

    /** Forget every buffer (a new track). */
    clear() {
      this.buffers.clear();
      this.pending.clear();
      this.queue = [];
      this.errors = 0;
    }

    has(url) {
      return this.buffers.has(url);
    }

    load(url) {
      if (this.pending.has(url)) return this.pending.get(url);
      const promise = new Promise((resolve, reject) => this.queue.push({ url, resolve, reject }));
      this.pending.set(url, promise);
      promise.catch(() => {}); // failures are reported in the status line, not as unhandled rejections
      this.pump();
      return promise;
    }

    pump() {
      while (this.active < DECODE_CONCURRENCY && this.queue.length) {
        const job = this.queue.shift();
        this.active++;
        this.decode(job.url)
          .then((buffer) => {
            if (this.pending.get(job.url)) this.buffers.set(job.url, buffer);
            job.resolve(buffer);
          })
          .catch((err) => {
            this.errors++;
            this.pending.delete(job.url);
            job.reject(err);
          })
          .finally(() => {
            this.active--;
            this.hooks.loaded();
            this.pump();
          });
      }
    }

    decode(url) {
      const rate = this.hooks.sampleRate();
      return sharedDecode(url, rate, () => kit.fetchDecoded(url, rate));
    }

    // ------------------------------------------------------------ the output chain

    ensureContext() {
      if (!this.ctx) {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        try {
          this.ctx = new Ctx({ sampleRate: this.hooks.sampleRate(), latencyHint: "interactive" });
        } catch (err) {
          this.ctx = new Ctx();
        }
        this.master = this.ctx.createGain();
        this.master.gain.value = this.volume;
        this.limiter = this.ctx.createWaveShaper();
        this.limiter.curve = limiterCurve();
        this.limiter.oversample = "none"; // oversampling filters could ring above the ceiling
        this.analyser = this.ctx.createAnalyser();
        this.analyser.fftSize = 4096;
        this.limiter.connect(this.analyser);
        this.analyser.connect(this.ctx.destination);
        this.route();
        // iOS plays Web Audio through the ringer channel unless told otherwise.
        if (navigator.audioSession) navigator.audioSession.type = "playback";
      }
      if (this.ctx.state !== "running") this.ctx.resume();
      return this.ctx;
    }

    route() {
      this.master.disconnect();
      this.master.connect(this.limiterOn ? this.limiter : this.analyser);
    }

    setVolume(v) {
      this.volume = Math.min(Math.max(Number(v) || 0, 0), 1);
      if (this.master) this.master.gain.setTargetAtTime(this.volume, this.ctx.currentTime, 0.01);
    }

    /** `level`: the playing cell's level under the new setting (see cellLevel). */
    setLimiter(on, level) {
      this.limiterOn = Boolean(on);
      if (!this.master) return;
      this.route();
      if (this.playing && this.voice) {
        this.voice.level = level;
        this.voice.gain.gain.setTargetAtTime(level, this.ctx.currentTime, 0.005);
      }
    }

    // ------------------------------------------------------------ transport

    /** Length of the playing clip, or `fallback` (the track's duration) when nothing plays. */
    duration(fallback) {
      const buffer = this.voice && this.buffers.get(this.voice.url);
      return buffer ? buffer.duration : fallback || 0;
    }

    positionAt(t, duration) {
      if (!this.playing) return this.pausedPos;
      if (duration <= 0) return 0;
      // Before a scheduled start (t < anchorTime) the new voice has not begun: never report less than 0.
      const p = Math.max(0, this.anchorPos + (t - this.anchorTime));
      return this.loop ? p % duration : Math.min(p, duration);
    }

    position() {
      return this.playing && this.ctx ? this.positionAt(this.ctx.currentTime, this.duration()) : this.pausedPos;
    }

    startVoice(url, level, when, offset) {
      const buffer = this.buffers.get(url);
      const source = this.ctx.createBufferSource();
      source.buffer = buffer;
      source.loop = this.loop;
      const gain = this.ctx.createGain();
      gain.gain.setValueAtTime(0, when);
      gain.gain.linearRampToValueAtTime(level, when + FADE);
      source.connect(gain);
      gain.connect(this.master);
      const voice = { source, gain, url, level };
      source.onended = () => {
        gain.disconnect();
        if (this.voice === voice) this.ended();
      };
      source.start(when, Math.min(Math.max(offset, 0), Math.max(0, buffer.duration - 1 / buffer.sampleRate)));
      return voice;
    }

    fadeOut(voice, when) {
      const g = voice.gain.gain;
      if (g.cancelAndHoldAtTime) g.cancelAndHoldAtTime(when);
      else {
        g.cancelScheduledValues(when);
        g.setValueAtTime(voice.level, when);
      }
      g.linearRampToValueAtTime(0, when + FADE);
      voice.source.onended = () => voice.gain.disconnect();
      voice.source.stop(when + FADE + 0.005);
    }

    /**
     * Play decoded `url` at gain `level` from `offset` (null: from the current position), crossfading from whatever
     * plays now. Both voices share one start time on the AudioContext clock, which keeps the switch sample-accurate.
     */
    switchTo(url, level, offset) {
      const t0 = this.ctx.currentTime + LEAD;
      const from = offset === null ? this.positionAt(t0, this.duration()) : offset;
      const start = Math.min(Math.max(from, 0), this.buffers.get(url).duration);
      const old = this.voice;
      this.voice = this.startVoice(url, level, t0, start);
      if (old) this.fadeOut(old, t0);
      this.anchorTime = t0;
      this.anchorPos = start;
      this.playing = true;
    }

    pause() {
      if (!this.playing) return;
      const now = this.ctx.currentTime;
      this.pausedPos = this.positionAt(now, this.duration());
      const voice = this.voice;
      this.voice = null;
      this.playing = false;
      if (voice) this.fadeOut(voice, now);
    }

    /** Move the playhead to `seconds` (clamped to the clip), playing on from there if playing. */
    seek(seconds, fallbackDuration) {
      const d = this.duration(fallbackDuration);
      const target = Math.min(Math.max(seconds, 0), Math.max(0, d - 0.001));
      if (this.playing && this.voice) this.switchTo(this.voice.url, this.voice.level, target);
      else this.pausedPos = target;
    }

    setLoop(on) {
      const p = this.position();
      this.loop = Boolean(on);
      if (this.playing && this.voice) {
        // Re-anchor so the position formula matches where the source's playhead already is.
        this.anchorTime = this.ctx.currentTime;
        this.anchorPos = p;
        this.voice.source.loop = this.loop;
      }
    }

    ended() {
      // Loop off and the clip reached its end: rewind, ready to play again.
      this.voice = null;
      this.playing = false;
      this.pausedPos = 0;
      this.hooks.ended();
    }

    close() {
      if (this.ctx) this.ctx.close();
    }
  }

  kit.AudioEngine = AudioEngine;
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
