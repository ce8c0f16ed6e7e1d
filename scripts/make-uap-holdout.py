#!/usr/bin/env python3
"""Builds tools/data/useragents/uap-core-tests.json, the held-out User-Agent set of the quality
report: every distinct User-Agent of ua-parser/uap-core's own test cases (tests/test_ua.yaml,
tests/test_device.yaml, tests/test_os.yaml), each labelled by the reference parser (the
ua-parser Python package) with uap-core's regexes.yaml of the same commit, and a kind:

- "bot": the parser's device family is "Spider" (uap-core's crawler patterns), or a browser
  automation or scanning product (AUTOMATION below);
- "browser": a User-Agent family that is a browser, an in-app browser or a feature phone's
  (BROWSERS below, by uap-core's family names, written from what each product is): the
  people's clients, the set the false-positive targets are measured on;
- "library": an HTTP library or SDK (LIBRARIES below);
- "other": every other family, or none (apps, feature phones' WAP User-Agents that name only
  the handset, tools): reported apart, no target.

No rule of this project was built from these strings. Usage (in a virtual environment with
ua-parser and PyYAML; a checkout of uap-core at UAP_CORE):

    python3 scripts/make-uap-holdout.py UAP_CORE COMMIT > tools/data/useragents/uap-core-tests.json
"""
import json
import sys

import yaml
from ua_parser import Parser, basic, loaders

BROWSERS = {
    # Chromium, Firefox, Safari and the browsers built on them.
    "Chrome", "Chrome Mobile", "Chrome Mobile WebView", "Chrome Mobile iOS", "Chromium",
    "Firefox", "Firefox Mobile", "Firefox iOS", "Firefox Beta", "Firefox Alpha", "Safari",
    "Mobile Safari", "Mobile Safari UI/WKWebView", "WebKit Nightly", "Edge", "Edge Mobile",
    "Opera", "Opera Mini", "Opera Mobile", "Opera Coast", "Opera Touch", "Opera GX",
    "Opera Tablet", "UC Browser", "Samsung Internet", "Yandex Browser", "Android", "Silk",
    "Amazon Silk", "Puffin", "QQ Browser", "QQ Browser Mini", "QQ Browser Mobile",
    "Baidu Browser", "Baidu Explorer", "Sogou Explorer", "Maxthon", "Vivaldi", "Brave",
    "DuckDuckGo Mobile", "MiuiBrowser", "HuaweiBrowser", "Honor Browser", "HeyTap Browser",
    "VivoBrowser", "Whale", "Coc Coc", "Iron", "Aloha Browser", "Avast Secure Browser",
    "Seznam prohlížeč", "Smart Lenovo Browser", "360 Secure Browser", "Ecosia Android",
    "Mypal Browser", "Pale Moon", "Waterfox", "SeaMonkey", "Iceweasel", "IceCat", "Netscape",
    "Kindle", "Oculus Browser", "Crosswalk", "Qt Web Engine", "QtCarBrowser", "Sailfish Browser",
    "Konqueror", "Rekonq", "Midori", "Epiphany", "QupZilla", "Falkon", "Otter", "Conkeror",
    "Ladybird", "ELinks", "Links", "Lynx", "NCSA Mosaic", "IE", "IE Mobile", "WeTab",
    "iBrowser", "iBrowser Mini", "HiBrowser", "Phoenix Browser", "ICE Browser",
    # In-app browsers.
    "Facebook", "Facebook Messenger", "Instagram", "WeChat Browser", "LINE", "KakaoTalk",
    "Snapchat", "Pinterest", "Twitter", "TikTok", "Google",
    # Feature phones, TVs, consoles and other devices' browsers.
    "NetFront", "NetFront NX", "Netfront", "Obigo", "UP.Browser", "Openwave", "Open Wave",
    "Nokia Services (WAP) Browser", "Nokia OSS Browser", "Nokia Browser", "Ovi Browser", "Nokia",
    "Dolfin", "mDolphin", "Dolphin", "Teleca Browser", "Polaris", "Jasmine", "SEMC-Browser",
    "BlackBerry", "BlackBerry WebKit", "HTC", "ONE Browser", "Phantom Browser", "webOS Browser",
    "HbbTV", "Vewd Browser", "Bunjalloo",
}
AUTOMATION = {
    "HeadlessChrome", "PhantomJS", "Ruxit Synthetic", "OpenVAS Scanner", "Camoufox",
}
LIBRARIES = {
    "Python-urllib", "Python Requests", "Python aiohttp", "Java", "Wget", "curl", "libcurl-agent",
    "HTTPie", "HTTPClient", "GuzzleHttp", "Apache-HttpClient", "okhttp", "CFNetwork", "JNLP",
    "Google-HTTP-Java-Client", "Boto3", "aws-sdk-java", "aws-sdk-go-v2", "aws-sdk-cpp",
    "aws-sdk-nodejs", "aws-sdk-ruby2", "aws-sdk-dotnet-45", "akka-http", "http.rb",
    "scalaj-http", "unirest-java", "lua-resty-http", "urlgrabber", "AHC", "ReactorNetty",
}


def main(root: str, commit: str) -> None:
    parser = Parser(basic.Resolver(loaders.load_yaml(f"{root}/regexes.yaml")))
    seen = {}
    for name in ("test_ua.yaml", "test_device.yaml", "test_os.yaml"):
        with open(f"{root}/tests/{name}") as f:
            for case in yaml.load(f, Loader=yaml.CSafeLoader)["test_cases"]:
                seen.setdefault(case["user_agent_string"], name)
    rows = []
    for ua in sorted(seen):
        r = parser.parse(ua)
        family = r.user_agent.family if r.user_agent else None
        device = r.device.family if r.device else None
        if device == "Spider" or family in AUTOMATION:
            kind = "bot"
        elif family in LIBRARIES or ua.startswith("Dalvik/"):
            # Android's HttpURLConnection (`Dalvik/…`), which the parser names "Android".
            kind = "library"
        elif family in BROWSERS:
            kind = "browser"
        elif family in LIBRARIES:
            kind = "library"
        else:
            kind = "other"
        rows.append({
            "user_agent": ua,
            "family": family,
            "major": r.user_agent.major if r.user_agent else None,
            "os": r.os.family if r.os else None,
            "device": device,
            "kind": kind,
        })
    json.dump({"source": f"ua-parser/uap-core {commit}, tests/test_ua.yaml, tests/test_device.yaml, tests/test_os.yaml",
               "rows": rows}, sys.stdout, indent=0, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
