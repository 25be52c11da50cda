{# brian_snn (issue 28): is_row_major(rows) declares _brian_snn_rows: true when the object's
   synapses are all-to-all and stored row by row (synapse k: source k / n_post, target k % n_post).
   Synapses exist only in the binary, so this is checked there, again whenever their number
   changes.  rows: {pre, post, n_pre, n_post} from brian_snn.standalone_templates.row_layout. #}
{% macro is_row_major(rows, n_synapses) %}
const size_t _brian_snn_npost = {{rows.n_post}};
static size_t _brian_snn_checked = (size_t)-1;    // the number of synapses last checked
static bool _brian_snn_rows = false;
if(_brian_snn_checked != {{n_synapses}})
{
    _brian_snn_rows = {{n_synapses}} == (size_t){{rows.n_pre}} * _brian_snn_npost;
    for(size_t _k=0; _k<{{n_synapses}} && _brian_snn_rows; _k++)
        _brian_snn_rows = (size_t){{rows.pre}}[_k] == _k / _brian_snn_npost
                          && (size_t){{rows.post}}[_k] == _k % _brian_snn_npost;
    _brian_snn_checked = {{n_synapses}};
}
{% endmacro %}
