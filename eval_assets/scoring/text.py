"""Comparing text leniently: normalization, word boundaries, and the any-of-the-references loop.

Pure comparison logic kept apart from the scorers (``scorers/match.py`` and friends), which only pick
what to compare and explain the outcome, so it can be tested and reused on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from eval_assets.scoring.results import References, ScoreResult, check_references, preview, verdict

_ARTICLES = frozenset({"a", "an", "the"})
# Deleted rather than replaced by a space, so "don't" and "dont" (and "O\u2019Brien", "OBrien") compare equal.
_APOSTROPHES = frozenset("'\u2018\u2019\u02bc`")
_ASCII_DIGITS = frozenset("0123456789")
# U+2212 MINUS SIGN survives NFKC; models and typesetters use it for negative numbers.
_MINUS_SIGN = "\u2212"


def _keeps_number_together(text: str, index: int) -> bool:
    """Whether the punctuation at ``text[index]`` is part of a number and must survive normalization.

    Dropping it would change the value: "3.5" would become "35" or "3 5", and "-3" would equal "3".
    """
    char = text[index]
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    digit_after = after in _ASCII_DIGITS
    if char == ",":
        return digit_after and before in _ASCII_DIGITS
    if char == ".":
        # Between digits ("3.5") or a leading decimal point ("-.5", " .5"), but not "v.2" or "end.5".
        return digit_after and (before == "" or before in _ASCII_DIGITS or not before.isalnum())
    if char == "-":
        # A sign, not a hyphen: "COVID-19" and "3-5" lose it, "-3", "(-3)" and "-.5" keep it.
        after_next = text[index + 2] if index + 2 < len(text) else ""
        signs_number = digit_after or (after == "." and after_next in _ASCII_DIGITS)
        return signs_number and (before == "" or not before.isalnum())
    return False


def fold_text(text: str) -> str:
    """:func:`normalize_text` without dropping articles: for comparisons where "A" is an answer."""
    if text.isascii():
        return _fold_ascii(text)
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(
        char
        for char in folded.replace(_MINUS_SIGN, "-")
        if char not in _APOSTROPHES and unicodedata.category(char) != "Cf"
    )
    # Deleting can put a letter next to a combining mark: compose them again, and only then decide what
    # punctuation to keep, so that normalizing twice gives the same result as normalizing once.
    folded = unicodedata.normalize("NFKC", folded)
    spaced = "".join(
        " " if unicodedata.category(char)[0] in "PS" and not _keeps_number_together(folded, index) else char
        for index, char in enumerate(folded)
    )
    return " ".join(spaced.split())


#: ASCII's categories P and S: exactly ``string.punctuation``.
_ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def _fold_ascii(text: str) -> str:
    """:func:`fold_text` of ASCII text, the same result without a Python step per character.

    On ASCII, NFKC changes nothing, casefolding is lowercasing, no character is of category Cf and the
    apostrophes are ``'`` and `````.
    """
    folded = text.lower().replace("'", "").replace("`", "")

    def space(match: re.Match[str]) -> str:
        char = match.group()
        return char if char in ".,-" and _keeps_number_together(folded, match.start()) else " "

    return " ".join(_ASCII_PUNCTUATION.sub(space, folded).split())


def normalize_text(text: str) -> str:
    """Normalize text for lenient comparison (SQuAD-style, extended to Unicode).

    Steps: NFKC (fullwidth and compatibility forms become plain ones), casefold (``"ß"`` matches
    ``"ss"``), punctuation and symbols (Unicode categories P and S) become spaces, apostrophes are
    deleted, invisible format characters (category Cf, e.g. zero-width spaces) are deleted, whitespace is
    collapsed, and the English articles "a", "an" and "the" are dropped.

    Judgement calls:
        * Accents are kept: stripping combining marks would also strip vowel signs in scripts such as
          Devanagari and Thai, and "résumé"/"resume" are different words.
        * ``.``, ``,`` and ``-`` are kept where they belong to a number ("3.5", "1,299", "-3"), so
          "3.5" does not equal "35" and "-3" does not equal "3". Other number decoration ("$", "%") is
          dropped, as in SQuAD; use ``numeric_match`` when the value matters.
        * When every word is an article the words are kept, so a multiple-choice answer "A" does not
          normalize to the empty string (and then match every other empty answer).

    Args:
        text: Any text.

    Returns:
        Space-separated words; the empty string if nothing meaningful is left.
    """
    words = fold_text(text).split()
    content = [word for word in words if word not in _ARTICLES]
    return " ".join(content or words)


def collapse_whitespace(text: str) -> str:
    """Whitespace runs become one space and the ends are trimmed; nothing else changes."""
    return " ".join(text.split())


# Scripts written without spaces between words: any character of theirs is a word boundary, otherwise
# "北京" could never be found in "我住在北京".
_UNSPACED_SCRIPTS = (
    "CJK UNIFIED IDEOGRAPH",
    "CJK COMPATIBILITY IDEOGRAPH",
    "HIRAGANA",
    "KATAKANA",
    "THAI",
    "LAO",
    "KHMER",
    "MYANMAR",
)


def _is_word_char(char: str) -> bool:
    # Combining marks (accents, Indic vowel signs) belong to the letter before them.
    in_word = char.isalnum() or char == "_" or unicodedata.category(char).startswith("M")
    return in_word and not unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)


def continues_word(text: str, index: int, edge: str, *, left: bool) -> bool:
    """Whether ``text[index]`` continues the word or number whose edge character is ``edge``.

    ``left`` says that ``index`` is just before the match (else just after it). Out-of-range indexes
    never continue anything. Digits: "3" is not in "3.5" or "1,299", and "3" is not in "-3".
    """
    if not 0 <= index < len(text):
        return False
    neighbour = text[index]
    if _is_word_char(neighbour) and _is_word_char(edge):
        return True
    if edge not in _ASCII_DIGITS:
        return False
    beyond = index - 1 if left else index + 1
    beyond_char = text[beyond] if 0 <= beyond < len(text) else ""
    if neighbour in ".,":
        return beyond_char in _ASCII_DIGITS
    if neighbour == "-" and left:
        return beyond_char == "" or not beyond_char.isalnum()
    return False


def occurs_as_words(needle: str, haystack: str) -> bool:
    """Whether ``needle`` occurs in ``haystack`` without cutting a word or number in two."""
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        if not continues_word(haystack, start - 1, needle[0], left=True) and not continues_word(
            haystack, end, needle[-1], left=False
        ):
            return True
        start = haystack.find(needle, start + 1)
    return False


def compare_with_references(
    output: str,
    references: References,
    *,
    canonical: Callable[[str], str],
    accepts: Callable[[str, str], bool],
    relation: str,
) -> ScoreResult:
    """Shared loop of the any-of text scorers: canonicalize both sides and test each reference.

    Args:
        output: The model's text.
        references: Acceptable answers; any one suffices.
        canonical: Applied to the output and to every reference before comparing.
        accepts: ``accepts(canonical_output, canonical_reference)`` decides a match.
        relation: Verb of the detail line ("matched", "contains", "starts with").

    Returns:
        Score 1.0 naming the first accepted reference, else 0.0. References that are empty after
        ``canonical`` are ignored (``contains`` would find them everywhere); with none left the output fails.
    """
    check_references(references)
    if not references:
        return verdict(False, "no references to compare against")
    candidate = canonical(output)
    usable = [(reference, canonical(reference)) for reference in references]
    usable = [(reference, canon) for reference, canon in usable if canon]
    if not usable:
        listed = ", ".join(map(preview, references))
        return verdict(False, f"every reference is empty after normalization: {listed}")
    for reference, canon in usable:
        if accepts(candidate, canon):
            return verdict(True, f"{relation} reference {preview(reference)}")
    noun = "reference" if len(usable) == 1 else "references"
    return verdict(False, f"output {preview(candidate)} {relation} none of {len(usable)} {noun}")
