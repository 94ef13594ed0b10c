/*
 * Fetching and decoding a cell's file, and doing it early for the page's first table: the page head starts on
 * that table's files while Gradio's own scripts are still loading, and the audio engine takes each decode from here
 * instead of fetching the file again. This script runs in the page head and again with each copy of the player's
 * scripts; a later run keeps what an earlier one started.
 */
(function (kit) {
  "use strict";

  const UNTAKEN_MS = 60000; // an early decode the player has not taken by then is dropped: the visitor moved on
  const decoders = new Map(); // sample rate -> OfflineAudioContext
  kit.prefetched = kit.prefetched || new Map(); // `${sampleRate} ${url}` -> Promise<AudioBuffer>

  /** `url` decoded at `sampleRate`, in an offline context (decoding needs no user gesture there). */
  kit.fetchDecoded = async function fetchDecoded(url, sampleRate) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
    const bytes = await response.arrayBuffer();
    if (!decoders.has(sampleRate)) decoders.set(sampleRate, new OfflineAudioContext(1, 1, sampleRate));
    return decoders.get(sampleRate).decodeAudioData(bytes);
  };

  /**
   * Start fetching and decoding `urls` (the files of track `trackId`'s table) unless the page's link opens
   * another track. A failure is dropped: the engine then fetches that file itself.
   */
  kit.prefetch = function prefetch(trackId, sampleRate, urls) {
    const linked = new URLSearchParams(window.location.search).get("track");
    if (linked && linked !== trackId) return;
    for (const url of urls) {
      const key = `${sampleRate} ${url}`;
      if (kit.prefetched.has(key)) continue;
      const promise = kit.fetchDecoded(url, sampleRate);
      const drop = () => kit.prefetched.get(key) === promise && kit.prefetched.delete(key);
      promise.catch(drop);
      setTimeout(drop, UNTAKEN_MS);
      kit.prefetched.set(key, promise);
    }
  };

  /** The early decode of `url`, handed over once (its taker keeps it from then on); null when there is none. */
  kit.takePrefetched = function takePrefetched(url, sampleRate) {
    const key = `${sampleRate} ${url}`;
    const promise = kit.prefetched.get(key) || null;
    if (promise) {
      kit.prefetched.delete(key);
      kit.prefetchTaken = (kit.prefetchTaken || 0) + 1;
    }
    return promise;
  };
})((window.lincaePlayerKit = window.lincaePlayerKit || {}));
