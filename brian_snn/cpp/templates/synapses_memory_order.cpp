{# brian_snn (issue 28): Brian2's synapses template, except that when a step's events reach every
   synapse of the object, the synapses are walked in memory order instead of queue order.  Installed
   (brian_snn.standalone_templates) only on pathways whose code updates each synapse independently of
   the others: it writes only the synapse's own variables, and pre/post variables only by adding
   0 or a value that is the same for all of that neuron's synapses (a count), which gives the same
   bits in any order.  Each synapse is in a step's queue at most once, so "as many queued as there are
   synapses" means "all of them".  When the synapses are all-to-all and stored row by row (checked
   in the binary), memory order is row after row with target j at column j, and the loop says so:
   the target index is the column, not a load, which lets GCC vectorise each row. #}
{# USES_VARIABLES { _synaptic_pre } #}
{% extends 'synapses.cpp' %}
{% import 'brian_snn_rows.cpp' as rows %}

{% block maincode %}
    const size_t _brian_snn_n_synapses = {{_dynamic__synaptic_pre}}.size();
    if(_brian_snn_n_synapses > 0 && {{pathway.name}}.peek()->size() == _brian_snn_n_synapses)
    {
        // all synapses: in memory order (brian_snn, issue 28)
        const size_t _vectorisation_idx = -1;
        {{scalar_code|autoindent}}
        {% set _layout = brian_snn_rows %}
        {% set _code = vector_code|join("\n") %}
        {% if _layout and _layout.post_load in _code %}
        {{ rows.is_row_major(_layout, '_brian_snn_n_synapses')|autoindent }}
        if(_brian_snn_rows)
        {
            // stored row by row: the same order, each target's index known (GCC vectorises a row)
            for(size_t _row=0; _row<(size_t){{_layout.n_pre}}; _row++)
                for(size_t _j=0; _j<_brian_snn_npost; _j++)
                {
                    const size_t _idx = _row * _brian_snn_npost + _j;
                    const size_t _vectorisation_idx = _idx;
                    {{_code|replace(_layout.post_load, "const int32_t _postsynaptic_idx = (int32_t)_j;")|autoindent}}
                }
        }
        else
        {% endif %}
        for(size_t _idx=0; _idx<_brian_snn_n_synapses; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
    }
    else
    {
    {{ super() }}
    }
{% endblock %}
