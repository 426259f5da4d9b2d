"""Plotting helpers used by the chapters (matplotlib for static figures, plotly for 3D
and for figures with sliders that stay interactive in the published HTML book).

One module per topic; everything is re-exported here.
"""

from .book import use_book_renderer
from .capture import pose_slider, rays_figure, rig_slider
from .epipolar import epipolar_slider
from .fusion_figures import fused_examples_slider, loss_curve_figure, weight_maps_figure
from .scene import (
    draw_heatmap_overlay,
    draw_skeleton_2d,
    pose_grid_views,
    rig_figure,
    skeleton_traces,
)
from .sliders import cube_scene, skeleton_slider
from .tables import Table, table

__all__ = [
           "Table",
           "cube_scene",
           "draw_heatmap_overlay",
           "draw_skeleton_2d",
           "epipolar_slider",
           "fused_examples_slider",
           "loss_curve_figure",
           "pose_grid_views",
           "pose_slider",
           "rays_figure",
           "rig_figure",
           "rig_slider",
           "skeleton_slider",
           "skeleton_traces",
           "table",
           "use_book_renderer",
           "weight_maps_figure",
]
