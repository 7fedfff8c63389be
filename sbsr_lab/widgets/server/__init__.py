"""The classroom app behind ``sbsr-lab app``: one process, one model, a light page over a small JSON API.

    from sbsr_lab.widgets.server import AppConfig, serve
    serve(AppConfig(host="127.0.0.1", port=8866))          # blocks until SIGTERM / SIGINT / Ctrl-C

Every page a browser opens is a static page (``sbsr_lab/widgets/web/``: HTML, CSS, JS; nothing from the
internet) that draws on a canvas and sends the *strokes* (``[[x, y], ...]`` per stroke, in [0, 1]²) to
``POST /api/query``; the server checks them (:func:`~sbsr_lab.data.strokes.sketch_problem`,
:func:`~sbsr_lab.data.strokes.cap_strokes`), rasterises them with the one rasteriser through the
:class:`~sbsr_lab.serve.query.QueryEngine` and answers JSON. A page costs the server nothing but its
requests, so a room of users shares one copy of the model.

Design:

* **Start fast**: the port is bound and the page served before torch is imported; the engines load in a
  background thread (the page shows "loading the model…" from ``GET /api/status``) -- the default
  method first, then the bundle's other methods for the model selector.
* **Bounded work**: queries run on a pool of ``workers`` threads (torch threads = cores / workers, so two
  workers on two cores use one thread each); at most ``max_pending`` queries wait or run, the next ones
  get ``503`` with ``Retry-After`` (the page retries). Request bodies are capped at ``max_body`` bytes.
* **Safe on a network**: loopback by default; any other host needs a token (generated, printed in the
  URL, checked on every request; a cookie after the first visit). On loopback the ``Host`` header must
  name the loopback (no DNS rebinding). Tracebacks go to the log, clients get one line. A strict
  Content-Security-Policy: the page can only talk to this server.
* **History**: one row per drawing (:meth:`~sbsr_lab.widgets.history.QueryHistory.record_drawing`): the
  page names each drawing (a new id at Clear / New drawing) and each stroke-end query of it replaces the
  row, so the row always holds the latest complete query (strokes, pen width, model, results) and
  replays exactly; the half-drawn guesses before it are only counted.
* **Each learner's history is private**: every browser gets its own identity, a random secret in the
  ``sbsr_learner`` cookie (HttpOnly, SameSite=Strict, Path=/; Secure over https; a session cookie, so a
  shared computer forgets it when the browser closes), set on first contact; a request without it (or
  with a malformed one) gets a fresh identity, never a shared "guest" pool. The history stores only a hash
  of the secret (:func:`~sbsr_lab.widgets.history.learner_key`). A learner lists, replays and exports only
  their own drawings; another learner's entry id answers 404, as an id that does not exist. The name typed
  in the page is only a label stored with the entries. Per learner at most ``max_learner_entries`` drawings
  and ``max_learner_bytes`` bytes of strokes are kept, the oldest dropped first; the export is streamed a
  page of entries at a time.
* **Teacher view** (``/teacher``, ``GET /api/class``): every learner's label, entry count, stored bytes and
  latest answers (no strokes), behind a *teacher* token (``AppConfig.teacher_token``, generated at each
  start and printed by ``sbsr-lab app`` as the teacher's address). It is not the room token: on a network
  every learner holds the room token (it is in the address they open), so it cannot tell the teacher apart.
* **Clean stop**: SIGTERM or SIGINT closes the listening socket, cancels waiting queries, waits for running
  ones and returns; the app starts no child process and writes no temporary folder.

API (all JSON; errors are ``{"error": "..."}``): ``GET /api/status``; ``POST /api/query`` with
``{"strokes", "brush", "model", "k", "user", "drawing", "record"}``; ``GET /api/thumb/METHOD/ID``;
``GET /api/view/METHOD/ID/N`` (rendered view N of a shape: each result's ``best_view``, the view closest
to the sketch, :mod:`sbsr_lab.retrieval.best_view`); ``GET /api/mesh/METHOD/ID``; ``GET /api/history`` (the
caller's drawings); ``GET /api/history/ID`` (one of them; 404 otherwise); ``GET /api/history/export?user=LABEL``
(a JSON download of the caller's drawings); ``GET /teacher?key=TEACHER_TOKEN`` and ``GET /api/class`` (the
teacher view; 403 without the teacher token).

The package, by what each module does. It is a front end over :mod:`sbsr_lab.serve`, on the layer of the
notebook widget; what both front ends need is written once below them: the mesh arrays
(:mod:`sbsr_lab.serve.meshes`), the pen and its raster width (:mod:`sbsr_lab.widgets.pen`), the recording
of an answer (:meth:`~sbsr_lab.widgets.history.QueryHistory.record_answer`).

* :mod:`~sbsr_lab.widgets.server.config` -- :class:`AppConfig` (checked when made) and the limits;
* :mod:`~sbsr_lab.widgets.server.loading` -- which methods are offered, their engines (the only module
  that imports torch, in the background);
* :mod:`~sbsr_lab.widgets.server.state` -- :class:`AppState`: engines, query pool, history;
* :mod:`~sbsr_lab.widgets.server.queries` -- a query body checked, answered and recorded;
* :mod:`~sbsr_lab.widgets.server.answers` -- the JSON the page reads (a typed ``QueryResult`` in, no guessing);
* :mod:`~sbsr_lab.widgets.server.security` -- hosts, tokens, cookies, origins, headers: the handlers' base;
* :mod:`~sbsr_lab.widgets.server.handlers` -- the routes (:func:`make_app`);
* :mod:`~sbsr_lab.widgets.server.network` -- the addresses people open (LAN discovery);
* :mod:`~sbsr_lab.widgets.server.run` -- :func:`serve`: bind, load, stop cleanly.
"""

from __future__ import annotations

from sbsr_lab.widgets.pen import DEFAULT_BRUSH
from sbsr_lab.widgets.server.config import AppConfig, is_loopback
from sbsr_lab.widgets.server.handlers import WEB_DIR, make_app
from sbsr_lab.widgets.server.network import app_url, teacher_url
from sbsr_lab.widgets.server.run import serve
from sbsr_lab.widgets.server.state import AppState

__all__ = ["AppConfig", "AppState", "make_app", "serve", "is_loopback", "app_url", "teacher_url", "DEFAULT_BRUSH",
           "WEB_DIR"]
