/*
 * The players of the pages `kvs-gateway view` writes and serves (lib/cli/hls-viewer.ts): one video of
 * one camera, live or on demand, with its own state (playing, no video, error, expired) and the
 * camera's clock time of the frame shown (the fragments' EXT-X-PROGRAM-DATE-TIME). It runs in the
 * browser, next to hls.js (inlined before it).
 *
 * A player given a `sessionPath` (the wall, served by `kvs-gateway view --all`) asks that local path
 * for a session URL whenever it needs one: at start, a minute before the URL expires, when KVS refuses
 * the URL (403: expired), and when a live camera stops sending (its tile then says "no video" until
 * the camera is back). A player given a `url` (a page written by `view --open`) has that URL only.
 */
(function (global) {
  'use strict';

  var RETRY_NO_VIDEO_MS = 10000;
  var RETRY_ERROR_MS = 20000;
  var STALL_MS = 12000;
  var RENEW_BEFORE_MS = 60000;

  function KvsPlayer(options) {
    this.options = options;
    this.video = options.video;
    this.hls = null;
    this.timers = [];
    this.session = null;
    this.lastProgress = { time: -1, at: Date.now() };
    this.fragment = null;
    this.state = '';
    this.renewals = 0;
    var player = this;
    this.video.addEventListener('playing', function () {
      player.setState('playing', options.texts.playing);
    });
    this.video.addEventListener('ended', function () {
      player.setState('ended', options.texts.ended);
    });
    this.video.addEventListener('timeupdate', function () {
      player.showClock();
    });
    setInterval(function () {
      player.watchProgress();
    }, 2000);
  }

  KvsPlayer.prototype.setState = function (state, text) {
    this.state = state;
    if (this.options.onState) this.options.onState(state, text);
  };

  KvsPlayer.prototype.later = function (delay, action) {
    var player = this;
    this.timers.push(
      setTimeout(function () {
        action.call(player);
      }, delay),
    );
  };

  KvsPlayer.prototype.clearTimers = function () {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  };

  KvsPlayer.prototype.start = function () {
    if (this.options.url) {
      this.play({ url: this.options.url, expiresAt: this.options.expiresAt });
    } else {
      this.renew();
    }
  };

  /** Asks the local server for a session (the wall). */
  KvsPlayer.prototype.renew = function () {
    var player = this;
    if (!this.options.sessionPath) {
      this.stop();
      this.setState('expired', this.options.texts.expired);
      return;
    }
    this.clearTimers();
    this.renewals += 1;
    fetch(this.options.sessionPath, { cache: 'no-store' })
      .then(function (response) {
        return response.json();
      })
      .then(function (answer) {
        if (answer.url) {
          player.play(answer);
        } else if (answer.state === 'no-video') {
          player.stop();
          player.setState('no-video', 'no video: ' + answer.message);
          player.later(RETRY_NO_VIDEO_MS, player.renew);
        } else {
          player.stop();
          player.setState('error', 'error: ' + (answer.message || 'no session'));
          player.later(RETRY_ERROR_MS, player.renew);
        }
      })
      .catch(function (error) {
        player.setState('error', 'error: the local server does not answer (' + error.message + ')');
        player.later(RETRY_ERROR_MS, player.renew);
      });
  };

  KvsPlayer.prototype.stop = function () {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
  };

  KvsPlayer.prototype.play = function (session) {
    var player = this;
    var video = this.video;
    this.stop();
    this.session = session;
    this.lastProgress = { time: -1, at: Date.now() };
    this.setState('loading', this.options.texts.loading);
    var expiresAt = Date.parse(session.expiresAt);
    if (this.options.sessionPath && expiresAt) {
      // A fresh URL before this one expires, so that the video does not stop.
      this.later(Math.max(5000, expiresAt - Date.now() - RENEW_BEFORE_MS), this.renew);
    }
    if (global.Hls && global.Hls.isSupported()) {
      var hls = new global.Hls({
        liveSyncDurationCount: 3,
        manifestLoadingMaxRetry: 2,
        levelLoadingMaxRetry: 2,
      });
      var recovering = false;
      this.hls = hls;
      hls.on(global.Hls.Events.FRAG_CHANGED, function (_event, data) {
        player.fragment = data.frag;
      });
      hls.on(global.Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) return;
        var status = data.response && data.response.code;
        if (data.type === global.Hls.ErrorTypes.NETWORK_ERROR) {
          var expired = status === 403 || (expiresAt && Date.now() > expiresAt);
          if (expired && !player.options.sessionPath) {
            player.stop();
            player.setState('expired', player.options.texts.expired);
          } else if (expired || player.options.sessionPath) {
            player.setState(
              'loading',
              expired
                ? 'the URL expired: renewing it'
                : 'network error (' + data.details + '): renewing the session',
            );
            player.later(expired ? 0 : 3000, player.renew);
          } else {
            player.setState('error', 'network error (' + data.details + '): retrying');
            player.later(3000, function () {
              hls.startLoad();
            });
          }
        } else if (data.type === global.Hls.ErrorTypes.MEDIA_ERROR && !recovering) {
          recovering = true;
          hls.recoverMediaError();
        } else if (data.type === global.Hls.ErrorTypes.MEDIA_ERROR) {
          player.stop();
          player.setState('error', player.options.texts.cannotDecode + ' (' + data.details + ')');
        } else {
          player.stop();
          player.setState('error', 'playback failed: ' + data.details);
        }
      });
      hls.loadSource(session.url);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = session.url;
    } else {
      this.setState('error', 'this browser supports neither Media Source Extensions nor native HLS');
      return;
    }
    video.play().catch(function () {});
  };

  /** A live video whose time stops moving: the camera stopped. The wall asks for a new session. */
  KvsPlayer.prototype.watchProgress = function () {
    var now = Date.now();
    if (this.video.currentTime !== this.lastProgress.time) {
      this.lastProgress = { time: this.video.currentTime, at: now };
      return;
    }
    if (
      this.options.live &&
      this.options.sessionPath &&
      this.state === 'playing' &&
      now - this.lastProgress.at > STALL_MS
    ) {
      this.setState(
        'loading',
        'no new video for ' + Math.round((now - this.lastProgress.at) / 1000) + ' s: asking again',
      );
      this.renew();
    }
  };

  /** The camera's clock at the frame shown: the fragment's producer time plus the time into it. */
  KvsPlayer.prototype.showClock = function () {
    var fragment = this.fragment;
    if (!this.options.onClock || !fragment || !fragment.programDateTime) return;
    var at = fragment.programDateTime + (this.video.currentTime - fragment.start) * 1000;
    this.options.onClock(new Date(at));
  };

  /** Tiles in a grid that fits the window: the column count that gives 16:9 tiles the most room. */
  function fitGrid(grid, count) {
    var width = grid.clientWidth;
    var height = grid.clientHeight;
    var best = { columns: 1, area: 0 };
    for (var columns = 1; columns <= count; columns += 1) {
      var rows = Math.ceil(count / columns);
      var tileWidth = Math.min(width / columns, ((height / rows) * 16) / 9);
      if (tileWidth * tileWidth > best.area) best = { columns: columns, area: tileWidth * tileWidth };
    }
    var rowsNeeded = Math.ceil(count / best.columns);
    grid.style.gridTemplateColumns = 'repeat(' + best.columns + ', 1fr)';
    grid.style.gridTemplateRows = 'repeat(' + rowsNeeded + ', 1fr)';
  }

  function clockText(date) {
    var pad = function (n) {
      return (n < 10 ? '0' : '') + n;
    };
    return (
      date.getFullYear() +
      '-' +
      pad(date.getMonth() + 1) +
      '-' +
      pad(date.getDate()) +
      ' ' +
      pad(date.getHours()) +
      ':' +
      pad(date.getMinutes()) +
      ':' +
      pad(date.getSeconds())
    );
  }

  global.KvsPlayer = KvsPlayer;
  global.kvsFitGrid = fitGrid;
  global.kvsClockText = clockText;
})(window);
