{# brian_snn (issue 28): Brian2's synapses template, except that when a step's events reach every
   synapse of the object, the synapses are walked in memory order instead of queue order.  Installed
   (brian_snn.standalone_templates) only on pathways whose code updates each synapse independently of
   the others: it writes only the synapse's own variables, and pre/post variables only by adding
   0 or a value that is the same for all of that neuron's synapses (a count), which gives the same
   bits in any order.  Each synapse is in a step's queue at most once, so "as many queued as there are
   synapses" means "all of them". #}
{# USES_VARIABLES { _synaptic_pre } #}
{% extends 'synapses.cpp' %}

{% block maincode %}
    const size_t _brian_snn_n_synapses = {{_dynamic__synaptic_pre}}.size();
    if(_brian_snn_n_synapses > 0 && {{pathway.name}}.peek()->size() == _brian_snn_n_synapses)
    {
        // all synapses: in memory order (brian_snn, issue 28)
        const size_t _vectorisation_idx = -1;
        {{scalar_code|autoindent}}
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
