"""A small inline archive with clear topics, shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path

ARTICLES = [
    # Space: Mars missions, all tagged "mars".
    (
        "mars-rover-lands",
        "NASA Mars Rover Lands Safely In Jezero Crater",
        "The Perseverance rover touched down on Mars after a seven-month journey.",
        "space",
        ["mars", "nasa"],
        "2024-02-18",
    ),
    (
        "mars-rover-first-photos",
        "Mars Rover Sends First Photos From Jezero Crater",
        "NASA released the first images taken by the Perseverance rover on Mars.",
        "space",
        ["mars", "nasa"],
        "2024-02-20",
    ),
    (
        "mars-helicopter-flight",
        "Mars Helicopter Ingenuity Makes First Flight",
        "The small helicopter flew above Jezero crater on Mars, a first for NASA.",
        "space",
        ["mars", "nasa"],
        "2024-04-19",
    ),
    (
        "mars-sample-return",
        "NASA Plans Mars Sample Return Mission",
        "Rock samples collected by the rover on Mars may return to Earth.",
        "space",
        ["mars"],
        "2023-07-01",
    ),
    (
        "moon-landing-anniversary",
        "Moon Landing Anniversary Celebrated By NASA",
        "Fifty years after Apollo 11, NASA looks back at the moon landing.",
        "space",
        ["moon", "nasa"],
        "2019-07-20",
    ),
    # Cooking: bread baking.
    (
        "sourdough-starter-guide",
        "How To Make A Sourdough Starter At Home",
        "Flour, water and patience: a sourdough starter guide for beginners.",
        "food",
        ["baking", "bread"],
        "2024-03-01",
    ),
    (
        "sourdough-bread-recipe",
        "Easy Sourdough Bread Recipe For Beginners",
        "Bake crusty sourdough bread at home with this easy recipe and your starter.",
        "food",
        ["baking", "bread"],
        "2024-03-05",
    ),
    (
        "banana-bread-recipe",
        "The Best Banana Bread Recipe",
        "Ripe bananas make the moistest banana bread you will ever bake at home.",
        "food",
        ["baking", "bread"],
        "2023-11-12",
    ),
    (
        "pasta-sauce-recipe",
        "Simple Tomato Pasta Sauce Recipe",
        "A quick tomato sauce for pasta with garlic and basil.",
        "food",
        ["pasta"],
        "2022-06-30",
    ),
    # Football: cup final.
    (
        "cup-final-preview",
        "Cup Final Preview: United Face City At Wembley",
        "United and City meet in the cup final at Wembley on Saturday.",
        "sports",
        ["football"],
        "2024-05-20",
    ),
    (
        "cup-final-report",
        "City Beat United In Dramatic Cup Final At Wembley",
        "City won the cup final against United after extra time at Wembley.",
        "sports",
        ["football"],
        "2024-05-25",
    ),
    (
        "cup-final-fans",
        "Fans Celebrate Cup Final Win In City Centre",
        "Thousands of City fans celebrated the cup final victory over United.",
        "sports",
        ["football"],
        "2024-05-26",
    ),
    (
        "tennis-open-final",
        "Tennis Open Final Goes To Five Sets",
        "The open final lasted five hours and five sets.",
        "sports",
        ["tennis"],
        "2024-01-28",
    ),
    # Elections: with HTML in the text and a headline with a literal "<".
    (
        "election-results-senate",
        "Senate Election Results: Democrats Hold Majority",
        "<p>Democrats kept control of the <b>Senate</b> after the election.</p>",
        "politics",
        ["election"],
        "2022-11-12",
    ),
    (
        "election-turnout-record",
        "Election Turnout Hits Record High",
        "Voter turnout in the election was the highest on record &amp; rising.",
        "politics",
        ["election"],
        "2022-11-10",
    ),
    (
        "election-polls-close",
        "Polls Close In Tight Senate Election",
        "Votes are counted as polls close in the Senate election race.",
        "politics",
        ["election"],
        "2022-11-08",
    ),
    (
        "budget-deficit-under-2-percent",
        "Budget Deficit Falls < 2% Of GDP",
        "The budget deficit fell below two percent of GDP this spring.",
        "politics",
        [],
        None,
    ),
    # No words in common with anything else.
    (
        "zebra-xylophone-quokka",
        "Zebra Xylophone Quokka",
        "Quixotic zephyr jamboree.",
        "misc",
        [],
        "2021-01-01",
    ),
]


def write_archive(path: Path, articles: list[tuple] = ARTICLES) -> Path:
    """Write `articles` as a JSON Lines archive; returns the path."""
    with path.open("w", encoding="utf-8") as handle:
        for slug, title, summary, category, tags, published_at in articles:
            record = {
                "slug": slug,
                "title": title,
                "summary": summary,
                "body": "",
                "category": category,
                "tags": tags,
                "published_at": published_at,
                "url": f"https://news.example/{slug}",
            }
            handle.write(json.dumps(record) + "\n")
    return path

# A headline that survives cleaning (no closing ">", so no tag) and would run its handler
# on any page that inserted it as HTML; related to the Mars articles.
HOSTILE_ARTICLE = {
    "slug": "mars-rover-hostile-title",
    "title": 'Mars Rover "Finds" Water & Ice <img src=x onerror=alert(1)',
    "summary": "The Perseverance rover on Mars found water ice in Jezero crater.",
    "category": "space",
    "tags": ["mars", "nasa"],
    "published_at": "2024-06-01",
    "url": "https://news.example/mars-rover-hostile-title",
    "image": "https://img.example/ice.jpg?w=640&h=360",
}
