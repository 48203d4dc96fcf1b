"""Scripts written without spaces between words (Chinese, Japanese): the character ranges, declared once.

Word counts (chatlab.textstats), word diffs (chatlab.worddiff) and language guesses for imported roles
(chatlab.roles.importer) all need to know where a "word" is a single character.
"""

from __future__ import annotations

# Han ideographs: CJK Unified + Extension A, compatibility ideographs, Extensions B–G and the
# compatibility supplement.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
KANA = "\u3040-\u30ff"  # hiragana, katakana

# Text statistics: each Han or kana character counts as a word. Hangul is left out on purpose: Korean puts
# spaces between words, so its syllables group into words like Latin letters do.
UNSPACED = "\u3005\u3007" + KANA + HAN  # 々 〇 included

# Diffs: every CJK character is a token of its own, punctuation and full-width forms included, so a
# changed character shows as one change rather than a whole changed sentence.
DIFF_CHARS = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    + KANA
    + "\u3100-\u312f\u3190-\u31ff"  # Bopomofo, Kanbun, CJK strokes, Katakana extensions
    "\uac00-\ud7af"  # Hangul syllables
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # half- and full-width forms (，。！ etc.)
     + HAN
)
