// The charts the pages use, and nothing else of ECharts (tree-shaken):
// bars and lines on a grid with tooltips and legends, drawn as SVG (crisp on
// a 4K wall, no canvas scaling).
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, TitleComponent, MarkLineComponent, AriaComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, MarkLineComponent, AriaComponent, SVGRenderer]);

export const init = echarts.init;
export const use = echarts.use;
