"""The offline demonstration of newswatch.

``site/`` is a small fictional regional news site, the Tigris Daily Monitor
(English and Arabic), whose feeds, sitemaps and pages write their own address
as ``{{BASE}}``; the server substitutes ``http://127.0.0.1:<port>`` when it
serves them. ``demo.toml`` is the configuration that crawls it (the same
placeholder) and ``expected.json`` says, per article, whether it is an Iraq
attack report and which incidents it holds.
"""
