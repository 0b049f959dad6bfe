"""Task definitions (templates, label words, instruction) for the known data sets."""

from __future__ import annotations

from .types import Task

_TOPIC = ("Article: {text}\nTopic:", "Article: {text}\nTopic: <mask>.")
_SENTIMENT = ("{text} It was", "{text} It was <mask>.")


def _task(name, classes, words, templates, instruction) -> Task:
    """Build a task; each label word may be one string or a tuple of alternatives."""
    words = tuple((w,) if isinstance(w, str) else tuple(w) for w in words)
    return Task(name, tuple(classes), words, templates[0], templates[1], instruction)


def generic_task(name: str, class_names, label_words=None) -> Task:
    """A task for a user file: "{text} Label:" with label words " <class name>" unless given."""
    words = label_words if label_words is not None else [" " + str(c) for c in class_names]
    return _task(name, class_names, words, ("{text} Label:", "{text} Label: <mask>."), "Classify the text.")


_NEWSGROUPS = {
    "alt.atheism": " atheism", "comp.graphics": " graphics", "comp.os.ms-windows.misc": " windows",
    "comp.sys.ibm.pc.hardware": " pc", "comp.sys.mac.hardware": " mac", "comp.windows.x": " x",
    "misc.forsale": " sale", "rec.autos": " cars", "rec.motorcycles": " motorcycles",
    "rec.sport.baseball": " baseball", "rec.sport.hockey": " hockey", "sci.crypt": " encryption",
    "sci.electronics": " electronics", "sci.med": " medicine", "sci.space": " space",
    "soc.religion.christian": " christian", "talk.politics.guns": " guns", "talk.politics.mideast": " israel",
    "talk.politics.misc": " politics", "talk.religion.misc": " religion",
}
# newsgroups-topics: five coarse topics from 20 Newsgroups' test split (a group not listed is left out)
NEWSGROUP_TOPICS = {
    "computers": ("comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware", "comp.sys.mac.hardware",
                  "comp.windows.x"),
    "sports": ("rec.sport.baseball", "rec.sport.hockey"),
    "science": ("sci.electronics", "sci.med", "sci.space"),
    "politics": ("talk.politics.guns", "talk.politics.mideast", "talk.politics.misc"),
    "religion": ("alt.atheism", "soc.religion.christian", "talk.religion.misc"),
}
# bbc-news-codewords: BBC News with label words that name no topic, so the target's zero-shot is near chance
# while a tuned prompt can still learn the mapping (the near-chance transfer case)
CODEWORDS = (" red", " green", " blue", " yellow", " purple")
_REUTERS = {
    "acq": " acquisition", "crude": " oil", "earn": " earnings", "grain": " grain",
    "interest": " interest", "money-fx": " currency", "ship": " shipping", "trade": " trade",
}

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        _task("election-tweets", ["HillaryClinton", "realDonaldTrump"], [" Hillary", " Trump"],
              ("Tweet: {text}\nAuthor:", "Tweet: {text}\nAuthor: <mask>."),
              "Who wrote this tweet, Hillary or Trump?"),
        _task("bbc-news", ["business", "entertainment", "politics", "sport", "tech"],
              [" business", " entertainment", " politics", " sport", " tech"], _TOPIC,
              "Classify the topic of the news article."),
        _task("bbc-news-codewords", ["business", "entertainment", "politics", "sport", "tech"], list(CODEWORDS),
              ("Article: {text}\nColour:", "Article: {text}\nColour: <mask>."),
              "Tag the news article with its colour code."),
        _task("newsgroups-topics", list(NEWSGROUP_TOPICS), [" " + c for c in NEWSGROUP_TOPICS], _TOPIC,
              "Classify the topic of the newsgroup post."),
        _task("20newsgroups", list(_NEWSGROUPS), list(_NEWSGROUPS.values()), _TOPIC,
              "Classify the topic of the newsgroup post."),
        _task("reuters-r8", list(_REUTERS), list(_REUTERS.values()), _TOPIC,
              "Classify the topic of the Reuters news article."),
        _task("sst2", ["negative", "positive"], [" terrible", " great"], _SENTIMENT,
              "Classify the sentiment of the movie review."),
        _task("imdb", ["negative", "positive"], [" terrible", " great"], _SENTIMENT,
              "Classify the sentiment of the movie review."),
        _task("mpqa", ["negative", "positive"], [" terrible", " great"], _SENTIMENT,
              "Classify the opinion polarity of the phrase."),
        _task("ag_news", ["World", "Sports", "Business", "Sci/Tech"],
              [" world", " sports", " business", " science"], _TOPIC, "Classify the topic of the news article."),
        _task("tweet_eval", ["negative", "neutral", "positive"], [" negative", " neutral", " positive"],
              ("Tweet: {text}\nSentiment:", "Tweet: {text}\nSentiment: <mask>."),
              "Classify the sentiment of the tweet."),
        _task("boolq", ["false", "true"], [" no", " yes"], ("{text}\nAnswer:", "{text}\nAnswer: <mask>."),
              "Answer the question about the passage with yes or no."),
        _task("arisetv", ["business", "entertainment", "health", "politics", "sports", "tech"],
              [" business", " entertainment", " health", " politics", " sports", " tech"], _TOPIC,
              "Classify the topic of the news headline."),
    ]
}


def get_task(name: str) -> Task | None:
    """The predefined task for a data set name (``None`` when there is none)."""
    return TASKS.get(name)


TASK_FILE_KEYS = ("template", "mlm_template", "label_words", "instruction")


def custom_task(base: Task, *, template: str | None = None, mlm_template: str | None = None,
                label_words=None, instruction: str | None = None) -> Task:
    """``base`` with a user's template(s), label words (one entry per class, a string or a list of
    alternatives) and instruction; raises ValueError naming what does not fit."""
    words = base.label_words
    if label_words is not None:
        if len(label_words) != base.num_classes:
            raise ValueError(f"label_words: {len(label_words)} given but the data set has {base.num_classes} classes "
                             f"({', '.join(base.class_names)})")
        words = tuple((w,) if isinstance(w, str) else tuple(w) for w in label_words)
    causal = template or base.causal_template
    mlm = mlm_template or (f"{template} <mask>." if template else base.mlm_template)
    return Task(base.name, base.class_names, words, causal, mlm, instruction or base.instruction)


def parse_label_words(text: str) -> list[list[str]]:
    """``"negative,positive"`` or ``"bad|awful,good|great"``: classes by comma, alternatives by ``|``; each word
    gets a leading space (the causal LMs' word-start form) unless it has one."""
    return [[w if w.startswith(" ") else " " + w for w in cls.split("|") if w] for cls in text.split(",")]
