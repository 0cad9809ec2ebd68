"""From found moments to an answer: preparation, the prompt's context, the model or offline quotes, citations."""
