"""PNG drawings of co-occurrence networks: the whole network and the ego network of a node.

Figures are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``):
no display is needed and pyplot's global backend is never touched.

Fonts: Chinese labels need a CJK font. :func:`cjk_font` looks for one (``fc-list
:lang=zh``, then matplotlib's own font list) and registers it; labels then use
DejaVu Sans with the CJK font as fallback. Without one the drawing still works:
each run of characters no installed font can show is written as ``…``, a label
left without a letter or digit becomes ``#N`` (row N of ``nodes.csv``), and the
figure says so in a footnote — no glyph-missing warnings, no boxes.
"""

from mrc_ner.mining.drawing.figures import COMMUNITY_COLOURS, OTHER_COLOUR, draw_ego, draw_network
from mrc_ner.mining.drawing.fonts import BASE_FONT, cjk_font, displayable, font_family, node_text

__all__ = [
    "BASE_FONT",
    "COMMUNITY_COLOURS",
    "OTHER_COLOUR",
    "cjk_font",
    "displayable",
    "draw_ego",
    "draw_network",
    "font_family",
    "node_text",
]
