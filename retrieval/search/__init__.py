"""Finding the moments that answer a question: the search side's tables, fused ranking, localisation, relevance."""
