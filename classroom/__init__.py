"""The classroom app: what-ifs in the browser.

:mod:`classroom.session` holds one browser session (the scenario, the run being stepped through,
the futures, downloads) in plain Python, testable without a browser; :mod:`classroom.controls`
the sliders, their meaning and the reading of typed values; :mod:`classroom.figures` draws the
run's charts (the fan chart and the network are :mod:`analysis.plots`', as in the report);
:mod:`classroom.app` is the Solara page; ``diplosim ui`` (:mod:`classroom.commands`) starts it.
The model never imports this package.
"""
