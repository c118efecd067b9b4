"""Polish vocabulary of the keyword-rule path (:mod:`detector.polish`).

Entries are written in ordinary Polish spelling and folded when the matcher is
built (lower case, diacritics removed, hyphens as spaces), so "zestrzelił" and
"zestrzelil" match alike. Inside an entry, words are separated by spaces and a
word may end in

* ``*`` – any word ending ("atak*" = atak, ataku, atakami, atakowali);
* ``~`` – a Polish case ending of a place name ("mosul~" = Mosul, Mosulu,
  Mosulem);
* or hold a small regular-expression alternation ("granat(u|em|y|ów)?").

Attack types use the codebook values. ``WEAPONS`` name a means of attack and
count only next to an ``ACTIONS`` word ("drony zaatakowały", "rakiety spadły"),
so that arms deals and inventories ("Irak kupił drony") are no attack.

The second half compiles the vocabulary, with the Latin spellings of the
gazetteer (:func:`detector.gazetteer.load_gazetteer`), into one Aho-Corasick
automaton over the literal head of each entry ("atak*" -> " atak"); a head hit
is confirmed by the entry's regular expression at that position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from .gazetteer import IRAQ, Place, load_gazetteer
from .normalize import normalize_for_matching

ATTACK_TERMS: dict[str, tuple[str, ...]] = {
    "suicide": (
        "samobójcz*", "zamachow* samobójc*", "zamachowiec samobójca", "zamachowczyni*", "wysadził* się",
        "wysadzili się", "pas* szahida", "kamizelk* z materiałami wybuchowymi",
    ),
    "car_bomb": (
        "samochod* pułapk*", "samochód pułapka", "aut* pułapk*", "ciężarów* pułapk*", "pojazd* pułapk*",
        "bomb* w samochodzie", "zaminowan* samoch*",
    ),
    "ied": (
        "przydrożn* bomb*", "bomb* przydrożn*", "ładun* wybuchow*", "improwizowan* ładun*", "improwizowan* urządz*",
        "podłożon* bomb*", "bomb* podłożon*", "podłożył* bomb*", "podłożyli ładun*", "bomb* pułapk*", "ied", "min* pułapk*",
        "na minie", "na minę", "zamach* bombow*",
    ),
    "mortar_artillery": ("ostrzał*", "ostrzel*", "ostrzeliw*", "ostrzelan*"),
    "air_strike": (
        "nalot*", "bombardowa*", "zbombardowa*", "atak* powietrzn*", "atak* z powietrza", "atak* lotnicz*",
        "uderzeni* powietrzn*", "uderzeni* z powietrza", "uderzeni* lotnicz*", "precyzyjn* uderz*", "precyzyjn* atak*",
    ),
    "grenade": ("granat(u|em|y|ów|ami|ach)?", "granatnik*", "rpg"),
    "assassination": (
        "zamach* na życie", "zamach* na (premier|prezydent|ministr|gubernator|polityk|przywódc|dowódc|szef|burmistrz|posł|sędzi)*",
        "zabójstw* polityczn*", "zamordowan* (polityk|dziennikar|aktywist|działacz|sędzi|posł)*", "zamordowa* (polityk|dziennikar|aktywist|działacz|sędzi|posł)*",
        "próba zabójstwa", "próby zabójstwa", "zastrzelon* (polityk|dziennikar|aktywist|działacz|sędzi|posł)*",
    ),
    "abduction": ("porwali", "porwał(a|o)?", "porywacz*", "uprowadz*", "zakładni*", "porwan*", "przetrzymywan*"),
    "armed_assault": (
        "strzelanin*", "zastrzel*", "otworzy* ogień", "otworzyl* ogień", "ostrzelali z broni", "starci(a|e|ach|ami|u)",
        "starć", "zasadzk*", "uzbrojen* mężczyźn*", "uzbrojon* mężczy*", "uzbrojen* napastni*", "napastni(cy|ków) (zaatakowal|ostrzelal|otworzyl)*",
        "bojowni* zaatakowa*", "masakr*", "snajper*", "szturm*", "rzeź", "ogień z broni", "ostrej amunicji", "ostrą amunicją",
    ),
    "other": (
        "atak*", "zaatakowa*", "wybuch(u|em|y|ów|ach|ami)?",
        "eksplozj*", "eksplodowa*", "detonacj*", "zdetonowa*", "wysadzi*", "wysadzon*", "podpal*", "sabotaż*", "dywersj*",
        "uderzeni* (na|w)", "uderzył* w", "uderzyli w", "uderzyły w", "celem ataku", "zamach*",
    ),
}
"""Event words by codebook attack type; "other" holds the generic ones."""

WEAPONS: dict[str, tuple[str, ...]] = {
    "drone": ("dron*", "bezzałogow*", "bsl", "uav"),
    "rocket_missile": ("rakiet*", "katiusz*", "pocisk* balistyczn*", "pocisk* rakietow*", "pocisk* manewruj*"),
    "projectile": ("pocisk*",),
    "mortar_artillery": ("moździerz*", "artyler*", "haubic*"),
    "air_strike": (
        "myśliwc*", "myśliwsk*", "f 16", "f 15", "ac 130", "samolot* bezzałogow*", "samolot* bojow*", "śmigłow* bojow*",
        "lotnictw*",
    ),
    "other": ("bomb(a|y|ę|ą|ami|ach|ie|om)?", "bombow*", "materiał* wybuchow*"),
}
"""Means of attack; a sentence needs an action word as well. A bare
"pocisk" (projectile) is a mortar round beside mortar words, else a missile."""

HABITUAL = re.compile(r"(?:atakuj|ostrzeliwuj|bombarduj|uderzaj|porywaj|zabijaj|napadaj)\w*")
"""Present imperfective attack verbs: in a body sentence they describe a habit
("bojówki atakują bazy, by wywrzeć presję"), not an event (a headline's
present tense is news and is left alone)."""

ACTIONS: tuple[str, ...] = (
    "uderz*", "spadł*", "spadły", "spadła", "spadło", "trafił*", "trafion*", "wystrzel*", "odpal*", "eksplod*",
    "zestrzel*", "przechwyc*", "zniszcz*", "uszkodz*", "wymierzon*", "skierowan*", "wleciał*", "rozbił*", "detonac*",
    "zdetonowa*", "podłoż*", "znalezion*", "rozbroi*", "unieszkodliw*", "wybuchł*", "zaatakowa*", "atak*", "ostrzel*",
    "ostrzał*", "zabił*", "zabit*", "zgin*", "rann*", "przedarł*", "wystrzelon*", "spadając*",
)
"""Action words that make a weapon mention an attack ("drony zaatakowały")."""

BLOCKED_TERMS: tuple[str, ...] = (
    "atak* serca", "atak* paniki", "atak* astmy", "atak* zimy", "atak* mrozu", "atak* hakersk*", "atak* cybernetyczn*",
    "cyberatak*", "zamach* stanu", "atakując*", "atak pozycyjn*", "bomb* kalori*", "bomb* witaminow*",
    "bomb* transferow*", "rakiet* tenisow*", "granatow*", "wybuch* (pandemi|epidemi|wojny|konfliktu|protest|zamieszek|śmiechu|entuzjazm|radości|złości|gniewu)*",
    "wybuchł* (wojna|konflikt|pandemia|epidemia|protest|zamieszki|pożar|skandal|afera)*",
)
"""Phrases holding an attack word that denote no attack; they suppress it."""

CASUALTY: tuple[str, ...] = (
    "zgin*", "zabit*", "zabił*", "zabili", "zabijając*", "zabito", "nie żyj*", "śmierć", "śmierci", "ofiar*", "poległ*",
    "rann*", "raniąc*", "ranił*", "ranion*", "ranieni", "obrażeni*", "obrażeń", "uraz(y|ów|ami)", "poszkodowan*", "zmarł*",
)

FOILED: tuple[str, ...] = (
    "przechwyc*", "zestrzel*", "udaremni*", "unieszkodliw*", "rozbroi*", "rozbrojon*", "nieudan*", "odparł*", "odparto",
    "znalezion*", "znaleźli", "odnalezion*", "zneutralizowa* (ładun|bomb|drona|drony|rakiet|pocisk)*", "podkładając*",
    "przed detonacją", "przed wybuchem", "nie doszło do (detonacji|wybuchu|eksplozji)",
)

IMPACT: tuple[str, ...] = (
    "uderzył*", "uderzyły", "spadł*", "trafił*", "zniszcz*", "uszkodz*", "eksplodował*", "wybuchł*", "zabił*", "zabit*", "zgin*", "rann*",
    "raniąc*", "płon*", "pożar*",
)
"""Words saying that an attack hit something: such an attack is not foiled."""

THREAT: tuple[str, ...] = (
    "ostrzeg*", "ostrzeż*", "grozi*", "groźb*", "jeśli", "jeżeli", "gdyby", "potępi*", "odradza*", "odpowiemy",
    "zapowiedzia*", "zapowiada*", "planuj*", "zagroził*", "ryzyk*", "zagroże*", "obawy", "obawia*",
)
"""Threats, warnings, conditions and condemnations: the sentence reports no incident."""

NEGATIVE: tuple[str, ...] = (
    # trials, sentences, executions, commemorations
    "proces*", "wyrok*", "skazan*", "skazał*", "sąd", "sądu", "sądzie", "sądem", "trybunał*", "egzekucj*", "stracon*",
    "rocznic*", "upamiętni*", "obchod*", "pomnik*",
    # culture, history, archaeology
    "książk*", "autobiografi*", "wspomnie*", "wspomina*", "filmow*", "kin(o|a|ie)", "serial*", "reżyser*", "aktor(a|zy|ka|ki)?", "powieś*", "wystaw*", "muze*", "histori*", "archeolog*",
    "wykopalisk*", "posąg*", "reportaż*",
    # sport
    "mecz*", "piłk*", "piłkar*", "bramk*", "gol", "gola", "turniej*", "siatkar*", "siatkówk*", "kibic*", "mundial*",
    "trener*", "eliminacj*", "reprezentacj*",
    # exercises, trade, migration
    "ćwicz*", "manewr*", "szkoleni*", "szkolil*", "trening*", "symulac*", "kupi*", "zakup*", "sprzeda*", "kontrakt*", "dostaw*", "migrant*", "przemyt*", "przerzuca*", "gra komputerow*",
    # cyber and police matters
    "hakerz*", "hakersk*", "wyłudz*", "oszust*",
)
"""Trials, anniversaries, culture, sport, exercises, trade: not an attack report."""

ACCIDENT: tuple[str, ...] = (
    "wypad(ek|ku|kiem|ki)", "katastrof*", "awari*", "zwarci*", "pożar*", "nieszczęśliw*", "samozapłon*", "wyciek*",
    "eksplozj* gazu", "wybuch* gazu", "butl* z gazem", "przyczyn* techniczn*",
)
"""Accidents (fires, failures, gas explosions): no attack unless reported as one."""

SOFT_NEGATIVE: tuple[str, ...] = (
    "wizyt*", "rozmow*", "rozmawia*", "spotkani*", "negocjac*", "konferencj*", "szczyt*", "porozumieni*", "zatrzyma*", "aresztowa*",
    "areszt*", "dyplomat*", "oświadczeni*", "ambasador(a|em|owi|zy|ów)?", "not(a|ę|y) protestacyjn*",
    "film(u|ie|em|y|ów)?",
)
"""Diplomacy, arrests and films: they exclude a sentence unless it also reports
casualties or a foiled attack ("zatrzymano mężczyzn podkładających bombę",
"na filmie widać, jak dron rani dwóch żołnierzy")."""

BACKGROUND: tuple[str, ...] = (
    "lat temu", "przed laty", "przed rokiem", "w zeszłym roku", "w ubiegłym roku", "zeszłego roku", "ubiegłego roku",
    "w przeszłości", "niegdyś", "po inwazji", "od inwazji", "podczas wojny", "w czasie wojny", "w latach", "dawn*",
    "poprzedni* atak*", "wcześniejsz* atak*", "podobn* atak*", "od czasu",
    "od śmierci", "sulejmaniego", "kasem sulejmani",
)
"""Past or background mentions ("years ago", "during the war")."""

TALLY: tuple[str, ...] = (
    "ciągł*", "stale", "nieustann*", "regularn*", "wielokrotnie", "kilkukrotnie", "kilkakrotnie", "od początku", "łącznie",
    "w sumie", "statystyk*", "liczb* ataków", "liczb* prób", "coraz częściej", "w ostatnich tygodniach",
    "w ostatnich miesiącach", "w ostatnich latach", "w tym roku", "od października", "od listopada", "od grudnia",
    "od stycznia", "do tej pory", "dotychczas", "fal* ataków", "dochodzi do", "dochodzą", "od lat", "od miesięcy",
    "od tygodni",
)
"""Running counts and habitual wording ("continual attacks", "since the start")."""

WEEKDAYS: dict[str, int] = {
    "poniedziałek": 0, "wtorek": 1, "środę": 2, "czwartek": 3, "piątek": 4, "sobotę": 5, "niedzielę": 6,
}
"""Weekdays as named after "w/we" ("we wtorek", "w środę"), with Python weekday numbers."""

MONTHS: dict[str, int] = {
    "stycznia": 1, "lutego": 2, "marca": 3, "kwietnia": 4, "maja": 5, "czerwca": 6, "lipca": 7, "sierpnia": 8,
    "września": 9, "października": 10, "listopada": 11, "grudnia": 12,
}

IRAQ_TERMS: tuple[str, ...] = (
    "irak~", "iraq", "irack* (stolic|prowincj|miast|mieś|terytori|kurdystan|baz|region|wiosk|wsi|armi|wojsk|sił|żołnierz|policj|granic)*",
    "kurdystan* iracki*", "region* kurdystan*", "autonomiczn* kurdystan*", "autonomiczn* region* kurdyjsk*",
)
"""Generic mentions of Iraq (no governorate). The adjective counts only with a
place or state noun: "Iraqi" people abroad are no location."""

PLACES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Baghdad": (
        ("Baghdad", ("bagdad~", "bagdadzk*", "baghdad~")),
        ("Green Zone", ("zielon* stref*", "stref* zielon*", "międzynarodow* stref* w bagdadzie")),
        ("Baghdad airport", ("lotnisk* w bagdadzie", "bagdadzki* lotnisk*", "lotnisk* bagdadzki*", "port* lotnicz* w bagdadzie")),
        ("US embassy in Baghdad", ("ambasad* usa w bagdadzie", "ambasad* amerykańsk* w bagdadzie", "amerykańsk* ambasad* w bagdadzie")),
        ("Sadr City", ("sadr city", "miasto sadra", "mieście sadra", "dzielnic* sadr*")),
    ),
    "Basra": (("Basra", ("basr(a|y|ze|ę|ą|ie)", "basrze", "basrz*", "basryjsk*")),),
    "Nineveh": (
        ("Nineveh", ("niniw(a|y|ie|ą|ę)", "prowincj* niniw*")),
        ("Mosul", ("mosul~", "mosulsk*")),
        ("Sinjar", ("sindżar~", "sinjar~", "szingal~")),
        ("Mosul Dam", ("zapor* w mosulu", "zapor* mosulsk*", "tam* w mosulu")),
    ),
    "Erbil": (
        ("Erbil", ("erbil~", "irbil~", "arbil~")),
        ("Erbil airport", ("lotnisk* w erbilu", "lotnisk* w irbilu", "lotnisk* erbil", "baz* lotnicz* w erbilu")),
        ("Harir base", ("harir~",)),
    ),
    "Sulaymaniyah": (("Sulaymaniyah", ("sulejmanij*", "sulejmanii", "sulejmani(a|ę|ą)", "sulaimanij*", "sulajmanij*")),),
    "Duhok": (("Duhok", ("dohuk~", "duhok~", "dahuk~")), ("Zakho", ("zacho", "zakho"))),
    "Halabja": (("Halabja", ("halabdż*", "halabdz*")),),
    "Kirkuk": (("Kirkuk", ("kirkuk~", "kirkucki*")), ("Hawija", ("hawidż*", "hawidz*"))),
    "Diyala": (("Diyala", ("dijal(a|i|ę|ą)", "prowincj* dijal*")), ("Baqubah", ("bakub(a|ie|y|ą|ę)", "bakuba"))),
    "Anbar": (
        ("Anbar", ("anbar~", "anbarze", "anbarsk*")),
        ("Ramadi", ("ramadi",)),
        ("Fallujah", ("falludż(a|y|ę|ą|ie)", "falludz(a|y|e|ie)", "faludż*")),
        ("Ain al-Asad air base", ("ain al asad", "ajn al asad", "ain al assad", "baz* al asad", "baz* lotnicz* al asad", "al asad air base")),
        ("Qaim", ("al kaim", "al kaimie", "al kajim")),
    ),
    "Salah al-Din": (
        ("Salah al-Din", ("salah ad din", "salah al din", "salahaddin", "salahuddin")),
        ("Tikrit", ("tikrit~", "tikricie", "tekrit~")),
        ("Samarra", ("samarr(a|ze|y|ą|ę)", "samar(ze|a|y)")),
        ("Baiji", ("baidżi", "bajdżi", "baiji")),
    ),
    "Babil": (("Hillah", ("hill(a|i|ę|ą)", "al hilla")), ("Jurf al-Sakhar", ("dżurf*", "dzurf*"))),
    "Karbala": (("Karbala", ("karbal(a|i|ę|ą)", "kerbel(a|i|ę|ą)", "karbali", "kerbali")),),
    "Najaf": (("Najaf", ("nadżaf~", "nadzaf~", "nadżafie")), ("Kufa", ("kufie", "kufa", "al kufa"))),
    "Wasit": (("Kut", ("al kut",)),),
    "Qadisiyah": (("Diwaniyah", ("diwanij*", "diwanii")),),
    "Maysan": (("Amarah", ("al amara", "al amarze")),),
    "Dhi Qar": (("Nasiriyah", ("nasirij*", "nasirii", "nasiriji")),),
    "Muthanna": (("Samawah", ("samaw(a|ie|y|ą|ę)",)),),
}
"""Polish spellings of Iraqi places, by codebook governorate. The gazetteer's
Latin spellings are added by :mod:`detector.polish`."""

BLOCKED_PLACES: tuple[str, ...] = (
    "al bagdadi", "bagdadi", "al baghdadi", "baghdadi", "kanaan", "mandali", "arbat", "yathrib", "rashad", "balada", "balady",
    "baszar al asad", "baszara al asada", "prezydent* al asad*", "reżim* al asad*", "hill(ary|ar)", "samar(a|ą|ę|ze) (w rosji|nad)",
    "hillary", "irak* gomez*", "islamsk* opor* w iraku", "islamsk* ruch* opor* w iraku", "państw* islamsk* w iraku", "barzani*", "obywatel* iraku", "obywatelstw* iraku", "urodzon* w iraku",
    "iracki* pochodzeni*", "narodowości irackiej",
)
"""Look-alikes of places: a person, a Syrian president, a Russian Samara, a
group named after Iraq ("Islamski Opór w Iraku")."""

GAZETTEER_SKIP: frozenset[str] = frozenset({
    "balad", "rawa", "dora", "kut", "tuz", "hit district", "anah", "koya", "soran", "ranya", "dibis", "dibs", "zab", "tallil",
    "faw", "al faw", "hatra", "prde", "rabiaa", "kalar", "badra", "arbat", "kanaan", "mandali", "yathrib", "rashad",
})
"""Gazetteer spellings too ambiguous in Polish text ("Rawa", "Dora", "balad")."""

FOREIGN: tuple[str, ...] = (
    "syri(a|i|ę|ą)", "syryjsk*", "damaszk*", "damaszek", "aleppo", "dajr az zaur", "dajr az zur", "deir ez zor", "der ez zor",
    "rakk(a|i|ę|ą)", "al hasak*", "hasak*", "homs*", "idlib*", "palmyr*", "kamiszl*", "abu kamal", "al bukamal", "al tanf",
    "at tanf", "tanf", "szaddadi", "conoco", "al omar", "wież* 22", "tower 22",
    "jordani*", "jordańsk*", "amman*", "izrael~", "izraelsk*", "tel awiw*", "jerozolim*", "ejlat*", "hajf*", "golan*",
    "stref* gazy", "gazie", "gazę", "zachodni* brzeg*", "liban*", "bejrut*", "jemen*", "morz* czerwon*", "huti",
    "husi", "huthi", "arabi* saudyjsk*", "rijad*", "kuwejt*", "bahrajn*", "egip*", "kair*", "synaj*", "libii", "libi(a|ę|ą)",
    "tunezj*", "algier*", "marok*", "w turcji", "na terytorium turcji", "stambu*", "w ankarze", "w iranie", "iranie",
    "w teheranie", "teheranie", "na terytorium iranu", "afganist*", "afgańsk*", "kabul*", "pakistan*", "indii", "ukrain*",
    "kijow*", "rosji", "rosja", "moskw*", "w niemczech", "niemczech", "francji", "paryż*", "szwecji", "sztokholm*", "belgii",
    "bruksel*", "wielkiej brytanii", "londyn*", "hiszpanii", "madryt*", "w polsce", "na terenie polski", "w usa",
    "w stanach zjednoczonych", "nowym jorku", "w waszyngtonie", "nigeri*", "somali*", "mogadisz*", "keni*", "sudan*", "kolumbi*", "meksyk*",
    "w chinach", "austri*", "wiedni*",
)
"""Places outside Iraq, in the forms that locate an event ("w Syrii", "na
Izrael"): attacks there are no Iraq attack reports."""

CO_THEATRE = r"syri\w*"
"""Foreign place named beside Iraq as one theatre ("bazy w Iraku i Syrii")."""

TARGETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("diplomatic", ("ambasad*", "konsulat*", "dyplomat*", "placówk* dyplomatyczn*")),
    ("us_coalition", (
        "(żołnierz|baz|wojsk|sił|personel|koszar|konwoj|konwój|oddział|placówk|kontyngent|jednost|instalacj)* (usa|amerykańsk*|stanów zjednoczonych|koalicji|nato)",
        "(amerykańsk|koalicyjn|sojuszniczy|sojusznicz|polsk)* (żołnierz|baz|wojsk|sił|personel|koszar|konwoj|konwój|oddział|placówk|kontyngent|jednost|instalacj)*",
        "koalicj*", "amerykan(ów|ach|om)", "marines", "ain al asad", "harir~", "kontrahent* (usa|amerykańsk*)",
        "amerykańsk* kontrahent*",
    )),
    ("peshmerga", ("peszmerg*", "peshmerg*")),
    ("pmf", (
        "milicj*", "bojówk*", "hashd", "al haszd", "sił* mobilizacji ludowej", "mobilizacj* ludow*", "kataib hezbollah",
        "kataib hizbollah", "centr* operacyjn*", "baz* milicji",
    )),
    ("government", (
        "premier*", "ministr*", "ministerstw*", "gubernator*", "parlament*", "posł(a|owie|ów|em)?", "polityk(a|ów|iem|owi)?",
        "burmistrz*", "sędzi(a|ego|ów|ę)", "rezydencj*", "siedzib* (parti|rząd|władz)*", "budyn* rządow*",
    )),
    ("protesters", ("do protestujących", "do demonstrantów", "w protestujących", "w demonstrantów", "protestując* zginęł*")),
    ("militants", (
        "kurdyjsk* (separatyst|bojowni|rebeli|partyzan)*", "pozycj* (kurdów|pkk|bojowników)", "stanowisk* (kurdyjsk|pkk)*",
        "bojowni* pkk", "baz* pkk", "kryjów*",
    )),
    ("iraqi_security", (
        "policj*", "policjan*", "żołnierz*", "armi*", "wojsk*", "sił* bezpieczeństwa", "posterun*", "punkt* kontroln*",
        "funkcjonariusz*", "oficer*", "straż* graniczn*", "patrol*",
    )),
    ("infrastructure", (
        "rurociąg*", "gazociąg*", "ropociąg*", "elektrowni*", "lini* energetyczn*", "słup* energetyczn*", "pol(e|u|a) naftow*",
        "pól naftowych", "złoż* gaz*", "pol(e|u|a) gazow*", "rafineri*", "lotnisk*", "khor mor",
    )),
    ("civilians", (
        "cywil*", "targ(u|owisk*)?", "bazar*", "meczet*", "świątyni*", "pielgrzym*", "wesel*", "kawiarni*", "restauracj*",
        "dzieci", "dzieck*", "rodzin*", "kobiet*", "aktywist*", "dziennikar*", "reporter*", "protestując*", "demonstrant*",
        "turyst*", "robotnik*", "mieszkańc*", "chrześcijan*", "jezyd*", "szyic*", "sunnit*", "kości(ół|oł|ele|oła)",
        "szkoł*", "szkol(e|y)", "szpital*", "autobus*", "sklep*", "dom(u|y|ów|ach)?", "pogrzeb*", "zakładni*",
    )),
)
"""Target vocabulary in priority order (the first matched wins); names not
in the codebook map through :data:`TARGET_ALIASES`."""

TARGET_ALIASES = {"protesters": "civilians", "militants": "other"}
"""Lethal force against protesters targets civilians, though the police is
named; Kurdish militants' positions are "other" though an army is named."""

ACTORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Islamic State", ("państw* islamsk*", "isis", "isil", "daesh", "daesz", "is")),
    ("al-Qaeda", ("al kaid*", "al kaed*")),
    ("Islamic Resistance in Iraq", ("islamsk* opor* w iraku", "islamsk* ruch* opor* w iraku")),
    ("Kataib Hezbollah", ("kataib hezbollah", "kataib hizbollah", "ketaib hezbollah", "brygad* hezbollah*")),
    ("Asaib Ahl al-Haq", ("asaib ahl al hak", "asaib ahl al haq")),
    ("pro-Iran factions", (
        "wspieran* przez iran", "wspierane przez teheran", "proirańsk*", "pro irańsk*", "powiązan* z iranem",
        "sprzymierzon* z iranem", "irańsk* bojówk*", "irańskie grupy", "bojówk* irańsk*",
    )),
    ("PKK", ("pkk", "parti* pracując* kurdystanu")),
    ("Turkey", ("turcj(a|i)", "tureck*", "ankar(a|y)")),
    ("Iran", ("iran", "iranu", "irańsk*", "strażnik* rewolucji", "irgc", "korpus* strażników")),
    ("United States", ("usa", "stany zjednoczone", "stanów zjednoczonych", "amerykańsk*", "amerykanie", "pentagon*", "waszyngton")),
    ("insurgents", ("bojownic*", "bojowników", "rebelianc*", "powstańc*", "dżihadyś*", "terroryśc*")),
)
"""Attackers in the order the English actor list uses (specific groups first)."""

CLAIMS: tuple[str, ...] = (
    "przyznał* się", "przyznają się", "przyznali się", "wziął* odpowiedzialność", "wzięł* odpowiedzialność",
    "wzięli odpowiedzialność", "odpowiedzialnoś*", "obwini*", "oskarż*", "przypisu*", "podejrzew*", "przeprowadzon* przez",
    "dokonan* przez", "stoi za", "stoją za",
)
"""Claim and attribution wording."""

ATTACK_VERBS = (
    r"(?:zaatakowa\w*|zbombardowa\w*|ostrzela\w*|przeprowadzi\w*|uderzy\w*|wystrzeli\w*|odpali\w*|atakuj\w*|dokona\w*|"
    r"przeprowadza\w*|zaatakuj\w*|zabil\w*|zastrzeli\w*|porwal\w*|uprowadzi\w*)"
)
"""Verbs of an attacker acting ("Turcja zbombardowała", "USA przeprowadziły")."""

NUMBERS: dict[str, int] = {
    "jeden": 1, "jedna": 1, "jedno": 1, "jednego": 1, "jednej": 1, "jednym": 1, "jedną": 1,
    "dwa": 2, "dwie": 2, "dwóch": 2, "dwoje": 2, "dwu": 2, "dwaj": 2, "dwoma": 2, "dwiema": 2, "dwóm": 2,
    "trzy": 3, "trzech": 3, "trzej": 3, "trzema": 3, "troje": 3, "cztery": 4, "czterech": 4, "czterej": 4, "czterema": 4,
    "pięć": 5, "pięciu": 5, "sześć": 6, "sześciu": 6, "siedem": 7, "siedmiu": 7, "osiem": 8, "ośmiu": 8,
    "dziewięć": 9, "dziewięciu": 9, "dziesięć": 10, "dziesięciu": 10, "jedenaście": 11, "jedenastu": 11,
    "dwanaście": 12, "dwunastu": 12, "trzynaście": 13, "trzynastu": 13, "czternaście": 14, "czternastu": 14,
    "piętnaście": 15, "piętnastu": 15, "szesnaście": 16, "szesnastu": 16, "siedemnaście": 17, "siedemnastu": 17,
    "osiemnaście": 18, "osiemnastu": 18, "dziewiętnaście": 19, "dziewiętnastu": 19,
    "dwadzieścia": 20, "dwudziestu": 20, "trzydzieści": 30, "trzydziestu": 30, "czterdzieści": 40, "czterdziestu": 40,
    "pięćdziesiąt": 50, "pięćdziesięciu": 50, "sześćdziesiąt": 60, "sześćdziesięciu": 60,
    "siedemdziesiąt": 70, "siedemdziesięciu": 70, "osiemdziesiąt": 80, "osiemdziesięciu": 80,
    "dziewięćdziesiąt": 90, "dziewięćdziesięciu": 90, "sto": 100, "stu": 100,
    "kilka": 3, "kilku": 3, "kilkoro": 3, "kilkanaście": 12, "kilkunastu": 12, "kilkadziesiąt": 24, "kilkudziesięciu": 24,
    "dziesiątki": 24, "dziesiątek": 24, "kilkaset": 200, "kilkuset": 200, "setki": 200, "setek": 200,
}
"""Polish number words in their common cases, with the values the English
extractor gives to vague quantities (several 3, dozens 24, hundreds 200)."""


_FOLD = str.maketrans("ąćęłńóśźż", "acelnoszz")
_PLACE_ENDINGS = r"(?:u|em|iem|ie|zie|cie|a|y|i|e|o|owi|ze)?"
_MOJIBAKE = re.compile("[\u00c2\u00c3\u00c4\u00c5\u0102\u0139][^\\s]")
_LITERAL = re.compile(r"^[a-z0-9 ]+")


def repair_mojibake(text: str) -> str:
    """Repair UTF-8 text decoded as cp1250 or cp1252 ("odniĂłsł" -> "odniósł")."""

    def fix(match: re.Match[str]) -> str:
        for codec in ("cp1250", "cp1252"):
            try:
                fixed = match.group().encode(codec).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if len(fixed) == 1:
                return fixed
        return match.group()

    return _MOJIBAKE.sub(fix, text) if _MOJIBAKE.search(text) else text


def fold(text: str) -> str:
    """Lower-case and strip Polish diacritics ("Żołnierzy" -> "zolnierzy")."""
    return text.lower().translate(_FOLD)


def normalize_polish(text: str) -> str:
    """Padded, folded token string of ``text`` (" zestrzelil drona nad erbilem ")."""
    return fold(normalize_for_matching(repair_mojibake(text), "en"))


def compile_entry(entry: str) -> str:
    """Regular expression (over normalised text, leading space included) of a vocabulary entry."""
    parts = []
    for token in fold(entry).replace("-", " ").split():
        token = re.sub(r"\((?!\?)", "(?:", token).replace("*", r"\w*")
        if token.endswith("~"):
            parts.append(token[:-1] + _PLACE_ENDINGS)
        else:
            parts.append(token)
    return " " + " ".join(parts) + "(?= )"


@dataclass(frozen=True)
class Entry:
    """One compiled vocabulary entry: its category, label and pattern."""

    category: str
    label: str
    pattern: re.Pattern[str]
    place: Place | None = None


def _gazetteer_entries() -> list[tuple[str, Place | None]]:
    """Latin spellings of the English gazetteer usable in Polish text: long
    single words take Polish case endings ("Mosulu"), short ones match exactly."""
    out: list[tuple[str, Place | None]] = []
    for variant in load_gazetteer("en"):
        text = variant.text
        if text in GAZETTEER_SKIP or len(text) < 5 or (variant.place is not None and not variant.place.governorate):
            # generic English mentions of Iraq ("iraqi") are covered by IRAQ_TERMS
            continue
        suffix = "~" if " " not in text and len(text) >= 6 and variant.place is not None else ""
        out.append((text + suffix, variant.place))
    return out


def _vocabulary() -> list[tuple[str, str, str, Place | None]]:
    """Every entry as ``(category, label, text, place)``."""
    rows: list[tuple[str, str, str, Place | None]] = []
    rows += [(f"attack:{kind}", kind, t, None) for kind, terms in ATTACK_TERMS.items() for t in terms]
    rows += [(f"weapon:{kind}", kind, t, None) for kind, terms in WEAPONS.items() for t in terms]
    simple = {
        "action": ACTIONS, "blocked": BLOCKED_TERMS, "casualty": CASUALTY, "foiled": FOILED, "impact": IMPACT,
        "threat": THREAT, "negative": NEGATIVE, "accident": ACCIDENT, "soft_negative": SOFT_NEGATIVE, "background": BACKGROUND,
        "tally": TALLY, "foreign": FOREIGN, "blocked_place": BLOCKED_PLACES,
    }
    rows += [(category, category, t, None) for category, terms in simple.items() for t in terms]
    rows += [(f"target:{name}", name, t, None) for name, terms in TARGETS for t in terms]
    rows += [(f"actor:{name}", name, t, None) for name, terms in ACTORS for t in terms]
    rows += [("claim", "claim", t, None) for t in CLAIMS]
    rows += [("place", "Iraq", t, IRAQ) for t in IRAQ_TERMS]
    known = {v.place.name: v.place for v in load_gazetteer("en") if v.place is not None}
    for governorate, places in PLACES.items():
        for name, spellings in places:
            place = known.get(name) or Place(name=name, governorate=governorate, kind="city")
            rows += [("place", name, t, place) for t in spellings]
    for text, place in _gazetteer_entries():
        if place is None:
            rows.append(("blocked_place", "blocked_place", text, None))
        else:
            rows.append(("place", place.name, text, place))
    return rows


@lru_cache(maxsize=1)
def build_matcher() -> tuple[ahocorasick.Automaton, tuple[Entry, ...]]:
    """Build (once) the automaton over the literal heads of all entries, and
    the entries without a literal head (checked by regular expression)."""
    automaton = ahocorasick.Automaton()
    heads: dict[str, list[Entry]] = {}
    loose: list[Entry] = []
    for category, label, text, place in _vocabulary():
        source = compile_entry(text)
        entry = Entry(category, label, re.compile(source), place)
        head = _LITERAL.match(source)
        if head and len(head.group().strip()) >= 2:
            heads.setdefault(head.group(), []).append(entry)
        else:
            loose.append(entry)
    for key, entries in heads.items():
        automaton.add_word(key, (len(key), tuple(entries)))
    automaton.make_automaton()
    return automaton, tuple(loose)


def iter_matches(padded: str) -> list[tuple[int, int, Entry]]:
    """All ``(start, end, entry)`` matches in a normalised padded string, in text order."""
    automaton, loose = build_matcher()
    found: dict[tuple[int, int, str, str], tuple[int, int, Entry]] = {}
    for end, (length, entries) in automaton.iter(padded):
        start = end - length + 1
        for entry in entries:
            match = entry.pattern.match(padded, start)
            if match is not None:
                found[(start, match.end(), entry.category, entry.label)] = (start, match.end(), entry)
    for entry in loose:
        for match in entry.pattern.finditer(padded):
            found[(match.start(), match.end(), entry.category, entry.label)] = (match.start(), match.end(), entry)
    return sorted(found.values(), key=lambda m: (m[0], -m[1]))
