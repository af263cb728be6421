"""The classroom app: what-ifs in the browser.

:mod:`classroom.state` holds the logic of one browser session (settings, validation, the run,
the ensemble, downloads) in plain Python, testable without a browser; :mod:`classroom.figures`
draws its charts with matplotlib; :mod:`classroom.app` is the Solara page; ``diplosim ui``
(:mod:`classroom.commands`) starts it. The model never imports this package.
"""
